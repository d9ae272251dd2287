//! The only code that runs in the QEMU child, between fork and exec, in this fixed order:
//!
//! 0. process: unblock every signal, `SIGPIPE` back to its default (QEMU must not
//!    inherit the supervisor's), the prepared umask, `chdir` to the prepared directory;
//! 1. descriptors: each prepared descriptor `dup2`'d to its number in QEMU; every
//!    descriptor above them marked close-on-exec;
//! 2. cgroup: write `0` to the VM cgroup's `cgroup.procs` (opened before the fork);
//! 3. rlimits: `RLIMIT_NPROC`, `RLIMIT_NOFILE`;
//! 4. identity: supplementary groups, then gid, then uid (`PR_SET_KEEPCAPS` first when
//!    the capability step still has to drop the bounding set, which needs
//!    `CAP_SETPCAP`);
//! 5. capabilities: bounding set (with `CAP_SETPCAP` raised for it), ambient set, then
//!    effective, permitted and inheritable emptied (`capset`);
//! 6. `no_new_privs` (`PR_SET_NO_NEW_PRIVS`);
//! 7. Landlock: `landlock_restrict_self` with the ruleset built in the parent;
//! 8. exec label, last: SELinux (`/proc/thread-self/attr/exec`, what `setexeccon`
//!    writes), then AppArmor (`exec PROFILE` to `/proc/self/attr/apparmor/exec`, else
//!    `/proc/self/attr/exec`, what `aa_change_onexec` writes);
//! 9. gate: wait for the parent to have recorded this process (pid + start time); if
//!    the parent died instead, exit without ever running QEMU;
//! 10. `execve`.
//!
//! Everything was prepared in the parent ([`super::prepare::Prepared`]): no allocation,
//! no lock, no lookup happens here — only raw system calls, which are async-signal-safe.
//! A failing step writes its number and `errno` to the report pipe and exits; the
//! parent turns that into an error naming the step. No backend code runs here.

use super::prepare::{AttrWrite, Prepared};
use std::os::fd::AsRawFd;

/// The steps, as numbered on the report pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Step {
    Signals = 0,
    Descriptors = 1,
    Cgroup = 2,
    Rlimits = 3,
    Identity = 4,
    Capabilities = 5,
    NoNewPrivs = 6,
    Landlock = 7,
    ExecLabel = 8,
    Gate = 9,
    Exec = 10,
}

impl Step {
    pub(crate) fn from_number(n: u32) -> Option<Step> {
        use Step::*;
        [
            Signals,
            Descriptors,
            Cgroup,
            Rlimits,
            Identity,
            Capabilities,
            NoNewPrivs,
            Landlock,
            ExecLabel,
            Gate,
            Exec,
        ]
        .into_iter()
        .find(|s| *s as u32 == n)
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Step::Signals => "resetting signals, the umask and the working directory",
            Step::Descriptors => "placing QEMU's descriptors",
            Step::Cgroup => "joining the VM's cgroup",
            Step::Rlimits => "setting max_processes / max_files",
            Step::Identity => "changing to QEMU's groups, gid and uid",
            Step::Capabilities => "dropping capabilities",
            Step::NoNewPrivs => "setting no_new_privs",
            Step::Landlock => "applying the Landlock ruleset",
            Step::ExecLabel => "setting the exec label",
            Step::Gate => "waiting for the supervisor to record QEMU",
            Step::Exec => "executing QEMU",
        }
    }
}

type StepResult = Result<(), (Step, i32)>;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// `rc < 0` is a failure of `step` with the current errno.
fn check(step: Step, rc: libc::c_long) -> StepResult {
    if rc < 0 {
        Err((step, errno()))
    } else {
        Ok(())
    }
}

/// Apply every step of `p` in order and exec QEMU; never returns. `gate` is the read end
/// of the parent's go-ahead pipe, `report` the write end of the error pipe.
pub(crate) fn run(p: &Prepared, gate: libc::c_int, report: libc::c_int) -> ! {
    let failed = apply(p, gate).err().unwrap_or((Step::Exec, 0));
    let mut msg = [0u8; 8];
    msg[..4].copy_from_slice(&(failed.0 as u32).to_le_bytes());
    msg[4..].copy_from_slice(&failed.1.to_le_bytes());
    // SAFETY: write of a stack buffer to the report pipe, then _exit: both
    // async-signal-safe; nothing else runs in this forked child.
    unsafe {
        libc::write(report, msg.as_ptr().cast(), msg.len());
        libc::_exit(127)
    }
}

fn apply(p: &Prepared, gate: libc::c_int) -> StepResult {
    signals_and_cwd(p)?;
    descriptors(p)?;
    cgroup(p)?;
    rlimits(p)?;
    identity(p)?;
    capabilities(p)?;
    no_new_privs(p)?;
    landlock(p)?;
    exec_label(p)?;
    wait_gate(gate)?;
    // SAFETY: execve with NUL-terminated pointer arrays prepared in the parent (they
    // point into CStrings that live in `p`); it returns only on failure.
    let rc = unsafe {
        libc::execve(
            p.exec.binary.as_ptr(),
            p.exec.argv_ptrs.as_ptr(),
            p.exec.envp_ptrs.as_ptr(),
        )
    };
    check(Step::Exec, rc as libc::c_long)
}

fn signals_and_cwd(p: &Prepared) -> StepResult {
    // SAFETY: sigemptyset/sigprocmask/signal on a sigset_t on this stack frame; umask
    // with an integer; chdir with a CString prepared in the parent.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        check(
            Step::Signals,
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) as libc::c_long,
        )?;
        if libc::signal(libc::SIGPIPE, libc::SIG_DFL) == libc::SIG_ERR {
            return Err((Step::Signals, errno()));
        }
        libc::umask(p.exec.umask);
        check(
            Step::Signals,
            libc::chdir(p.exec.cwd.as_ptr()) as libc::c_long,
        )
    }
}

fn descriptors(p: &Prepared) -> StepResult {
    for (src, target) in &p.fds {
        // SAFETY: dup2 between descriptor numbers; every source is numbered above every
        // target (see `prepare`), so no dup2 overwrites a source still to be placed.
        check(Step::Descriptors, unsafe {
            libc::dup2(src.as_raw_fd(), *target) as libc::c_long
        })?;
    }
    // SAFETY: close_range with integer arguments, marking descriptors close-on-exec.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            (p.max_target + 1) as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    match check(Step::Descriptors, rc) {
        // Kernels before 5.11: every descriptor oxvirt opens is close-on-exec anyway.
        Err((_, libc::ENOSYS | libc::EINVAL)) => Ok(()),
        r => r,
    }
}

fn cgroup(p: &Prepared) -> StepResult {
    if let Some(fd) = &p.cgroup_procs {
        // SAFETY: writes one byte from a static buffer to a descriptor we own.
        let n = unsafe { libc::write(fd.as_raw_fd(), b"0".as_ptr().cast(), 1) };
        if n != 1 {
            return Err((Step::Cgroup, errno()));
        }
    }
    Ok(())
}

fn rlimits(p: &Prepared) -> StepResult {
    for (resource, value) in &p.rlimits {
        let lim = libc::rlimit {
            rlim_cur: *value,
            rlim_max: *value,
        };
        // SAFETY: setrlimit with a pointer to a value on this stack frame.
        check(Step::Rlimits, unsafe {
            libc::setrlimit(*resource, &lim) as libc::c_long
        })?;
    }
    Ok(())
}

fn prctl(step: Step, option: libc::c_int, arg: libc::c_ulong) -> StepResult {
    // SAFETY: prctl with integer arguments only.
    check(step, unsafe {
        libc::prctl(option, arg, 0 as libc::c_ulong, 0 as libc::c_ulong, 0) as libc::c_long
    })
}

fn identity(p: &Prepared) -> StepResult {
    let Some(id) = &p.identity else {
        return Ok(());
    };
    if p.drop_bounding {
        // Keep the permitted set across the uid change: the capability step needs
        // CAP_SETPCAP to empty the bounding set, and then empties everything.
        prctl(Step::Identity, libc::PR_SET_KEEPCAPS, 1)?;
    }
    // SAFETY: setgroups with a pointer and length of a Vec prepared before the fork;
    // setresgid/setresuid with integers.
    unsafe {
        check(
            Step::Identity,
            libc::setgroups(id.groups.len(), id.groups.as_ptr()) as libc::c_long,
        )?;
        check(
            Step::Identity,
            libc::setresgid(id.gid, id.gid, id.gid) as libc::c_long,
        )?;
        check(
            Step::Identity,
            libc::setresuid(id.uid, id.uid, id.uid) as libc::c_long,
        )
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `capset` for this thread with the same 64-bit mask in effective and permitted.
fn capset(mask: u64) -> StepResult {
    let header = CapHeader {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let word = |w: u32| CapData {
        effective: w,
        permitted: w,
        inheritable: 0,
    };
    let data = [word(mask as u32), word((mask >> 32) as u32)];
    // SAFETY: capset with a v3 header and the two data words it expects, all on this
    // stack frame.
    check(Step::Capabilities, unsafe {
        libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr())
    })
}

fn capabilities(p: &Prepared) -> StepResult {
    if !p.drop_caps {
        return Ok(());
    }
    if p.drop_bounding {
        const CAP_SETPCAP: u32 = 8;
        capset(1 << CAP_SETPCAP)?;
        for cap in 0..64 as libc::c_ulong {
            // EINVAL past the last capability of this kernel is expected.
            match prctl(Step::Capabilities, libc::PR_CAPBSET_DROP, cap) {
                Err((_, libc::EINVAL)) => {}
                r => r?,
            }
        }
    }
    match prctl(
        Step::Capabilities,
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
    ) {
        // No ambient set on this kernel: nothing to clear.
        Err((_, libc::EINVAL)) => {}
        r => r?,
    }
    capset(0)
}

fn no_new_privs(p: &Prepared) -> StepResult {
    if p.no_new_privs {
        prctl(Step::NoNewPrivs, libc::PR_SET_NO_NEW_PRIVS, 1)?;
    }
    Ok(())
}

fn landlock(p: &Prepared) -> StepResult {
    if let Some(ruleset) = &p.landlock {
        // SAFETY: landlock_restrict_self with a ruleset descriptor we own and no flags.
        check(Step::Landlock, unsafe {
            libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), 0)
        })?;
    }
    Ok(())
}

/// Write `w.data` to the first of `w.paths` that exists.
fn write_attr(w: &AttrWrite) -> StepResult {
    let mut last = libc::ENOENT;
    for path in &w.paths {
        // SAFETY: open of a CString prepared in the parent; write of a prepared buffer;
        // close of the descriptor just opened.
        unsafe {
            let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                last = errno();
                continue;
            }
            let n = libc::write(fd, w.data.as_ptr().cast(), w.data.len());
            let e = errno();
            libc::close(fd);
            return if n == w.data.len() as isize {
                Ok(())
            } else {
                Err((Step::ExecLabel, e))
            };
        }
    }
    Err((Step::ExecLabel, last))
}

fn exec_label(p: &Prepared) -> StepResult {
    for w in [&p.selinux_exec, &p.apparmor_exec].into_iter().flatten() {
        write_attr(w)?;
    }
    Ok(())
}

fn wait_gate(gate: libc::c_int) -> StepResult {
    let mut byte = 0u8;
    loop {
        // SAFETY: read of one byte into a stack variable from the gate pipe.
        let n = unsafe { libc::read(gate, (&mut byte as *mut u8).cast(), 1) };
        match n {
            1 => return Ok(()),
            // The supervisor died before recording this process: QEMU must never run
            // unrecorded. Exit quietly (nobody is left to read a report).
            // SAFETY: _exit is async-signal-safe.
            0 => unsafe { libc::_exit(126) },
            _ if errno() == libc::EINTR => continue,
            _ => return Err((Step::Gate, errno())),
        }
    }
}
