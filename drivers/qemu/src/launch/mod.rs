//! The launcher: starts QEMU under a [`Confinement`] and knows no security backend.
//!
//! [`spawn`] prepares everything in the parent (`prepare.rs`), forks, and the child
//! applies the confinement in one fixed order and execs (`child.rs`, the only code that
//! runs between fork and exec). Before the child may exec, the parent records it: the
//! caller's `record` gets the child's pid and start time (the supervisor writes them to
//! the status file), and only then is the gate opened. If the parent dies first, the
//! child sees the gate close and exits without running QEMU — so there is never a QEMU
//! that no file names.

mod child;
mod landlock;
mod prepare;

pub use landlock::abi as landlock_abi;
pub use prepare::{check, Exec};

use crate::process::Pidfd;
use child::Step;
use oxvirt_core::security::Confinement;
use oxvirt_core::{Error, Result};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

fn pipe(floor: libc::c_int) -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills the two-element array on this stack frame.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(Error::system(
            "cannot create a pipe to start QEMU",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: pipe2 just returned these two descriptors; nothing else owns them.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((prepare::above(r, floor)?, prepare::above(w, floor)?))
}

/// Reap a child that failed or was told not to exec.
fn reap(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: waitpid for our own child, with a status int on this stack frame.
    while unsafe { libc::waitpid(pid, &mut status, 0) } < 0
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
    {}
}

/// Start `exec` confined by `confinement`. `record(pid, start_time)` runs in this process
/// after the fork and before the child may exec; if it fails, the child exits without
/// running QEMU and its error is returned. On success QEMU runs (exec succeeded) and the
/// returned pidfd names it; the caller must reap it (`waitpid`) once it exits.
pub fn spawn(
    exec: &Exec,
    confinement: &Confinement,
    record: impl FnOnce(u32, u64) -> Result<()>,
) -> Result<Pidfd> {
    let prepared = prepare::prepare(confinement, exec)?;
    let (gate_r, gate_w) = pipe(prepared.max_target)?;
    let (report_r, report_w) = pipe(prepared.max_target)?;
    // SAFETY: fork. The child runs `child::run` only — raw system calls on memory
    // prepared above, then execve or _exit — so nothing that needs another thread
    // (a lock, the allocator) is ever touched in it.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::system(
            "cannot fork to start QEMU",
            std::io::Error::last_os_error(),
        ));
    }
    if pid == 0 {
        // SAFETY: closing our copies of the parent's pipe ends (raw numbers; the
        // OwnedFds are never dropped in the child, which never returns).
        unsafe {
            libc::close(gate_w.as_raw_fd());
            libc::close(report_r.as_raw_fd());
        }
        child::run(&prepared, gate_r.as_raw_fd(), report_w.as_raw_fd());
    }
    drop(gate_r);
    drop(report_w);
    let recorded = Pidfd::open_child(pid as u32)
        .map_err(|e| Error::system("cannot open a pidfd on the QEMU child", e))
        .and_then(|p| record(p.pid, p.start_time).map(|_| p));
    let pidfd = match recorded {
        Ok(p) => p,
        Err(e) => {
            drop(gate_w); // the child exits without exec
            reap(pid);
            return Err(e);
        }
    };
    let mut gate = std::fs::File::from(gate_w);
    let opened = std::io::Write::write_all(&mut gate, b"g");
    drop(gate);
    let mut report = Vec::new();
    let read = std::fs::File::from(report_r).read_to_end(&mut report);
    if let Err(e) = opened.and(read) {
        let _ = pidfd.kill(std::time::Duration::from_secs(5));
        reap(pid);
        return Err(Error::system("lost the QEMU child while starting it", e));
    }
    if report.is_empty() {
        return Ok(pidfd); // exec closed the report pipe: QEMU runs
    }
    reap(pid);
    Err(child_error(&exec.binary, &report))
}

fn child_error(binary: &std::path::Path, report: &[u8]) -> Error {
    let word = |i: usize| {
        report
            .get(i..i + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    let step = word(0).and_then(Step::from_number);
    let errno = word(4).unwrap_or(0) as i32;
    let what = step.map_or("starting QEMU", Step::describe);
    Error::operation_failed(format!(
        "cannot start QEMU '{}': {what} failed between fork and exec: {}",
        binary.display(),
        std::io::Error::from_raw_os_error(errno)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxvirt_core::security::{FdAccess, PassedFd};
    use std::time::Duration;

    fn exec(binary: &str, args: &[&str]) -> Exec {
        Exec {
            binary: binary.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec![("OXVIRT_T".into(), "1".into())],
            cwd: "/".into(),
            umask: 0o027,
        }
    }

    fn out_to(path: &std::path::Path) -> Confinement {
        let fd = |n, p: &std::path::Path, a, purpose: &str| PassedFd {
            fd: n,
            path: p.to_path_buf(),
            access: a,
            purpose: purpose.into(),
        };
        Confinement {
            fds: vec![
                fd(
                    0,
                    std::path::Path::new("/dev/null"),
                    FdAccess::Read,
                    "stdin",
                ),
                fd(1, path, FdAccess::Append, "stdout"),
                fd(2, path, FdAccess::Append, "stderr"),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn the_child_runs_only_after_it_is_recorded() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let marker = d.path().join("ran");
        let script = format!("echo $OXVIRT_T; pwd; umask; touch {}", marker.display());
        let mut seen = None;
        let p = spawn(
            &exec("/bin/sh", &["-c", &script]),
            &out_to(&out),
            |pid, st| {
                // Not exec'd yet: the marker cannot exist.
                std::thread::sleep(Duration::from_millis(100));
                assert!(!marker.exists());
                seen = Some((pid, st));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, Some((p.pid, p.start_time)));
        assert!(p.wait_exit(Duration::from_secs(10)));
        reap(p.pid as i32);
        assert!(marker.exists());
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "1\n/\n0027\n");
    }

    #[test]
    fn a_failed_record_means_qemu_never_runs() {
        let d = tempfile::tempdir().unwrap();
        let marker = d.path().join("ran");
        let e = spawn(
            &exec("/bin/touch", &[marker.to_str().unwrap()]),
            &out_to(&d.path().join("out")),
            |_, _| Err(Error::internal("cannot write the status file")),
        )
        .unwrap_err();
        assert_eq!(e.message, "cannot write the status file");
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            !marker.exists(),
            "the child exec'd although it was not recorded"
        );
    }

    #[test]
    fn a_failing_step_is_named() {
        let d = tempfile::tempdir().unwrap();
        let e = spawn(
            &exec("/nonexistent/qemu", &[]),
            &out_to(&d.path().join("out")),
            |_, _| Ok(()),
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("cannot start QEMU '/nonexistent/qemu': executing QEMU failed"),
            "{}",
            e.message
        );
        assert!(e.message.contains("No such file"), "{}", e.message);
    }
}
