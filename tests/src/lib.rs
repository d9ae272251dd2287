//! Helpers shared by the end-to-end tests (guest fixture, CLI runner).
//!
//! The guest is a real Debian 12 cloud kernel plus a busybox initramfs, built by
//! `fixtures/build-guest.sh` and cached outside the repository in
//! `${OXVIRT_GUEST_DIR:-$HOME/.cache/oxvirt/guest}`. Boot it with
//! `-kernel guest.kernel -initrd guest.initrd -append "console=ttyS0 quiet"`; its console
//! shows `OXVIRT-GUEST-READY` once the ACPI power button works (QMP `system_powerdown`
//! then powers it off). Add `oxvirt.poweroff` to the cmdline for a guest that powers
//! itself off right after the marker. The marker may share its console line with
//! SeaBIOS's escape sequences: look for the substring, not for an equal line.

pub mod confined;
pub mod escape;
pub mod escape_run;
pub mod harness;
pub mod lsm_vm;

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The line the guest prints on its console when it is up.
pub const GUEST_READY_MARKER: &str = "OXVIRT-GUEST-READY";

/// Kernel command line for an ordinary test guest (serial console, no kernel chatter).
pub const GUEST_CMDLINE: &str = "console=ttyS0 quiet";

/// Kernel command line for a guest that powers itself off right after the marker.
pub const GUEST_CMDLINE_POWEROFF: &str = "console=ttyS0 quiet oxvirt.poweroff";

/// Kernel command line for a guest that reboots itself right after the marker.
pub const GUEST_CMDLINE_REBOOT: &str = "console=ttyS0 quiet oxvirt.reboot";

/// The built guest: a bzImage kernel and a gzip'd newc initramfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guest {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
}

/// Where `build-guest.sh` caches the guest (same rule as the script).
pub fn guest_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OXVIRT_GUEST_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache/oxvirt/guest")
}

/// The path of `fixtures/build-guest.sh` in this repository.
pub fn build_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/build-guest.sh")
}

/// Build (once per machine, cached) and return the test guest.
///
/// Parallel tests and test processes serialise on a lock file in the cache directory;
/// the script itself is idempotent, so later calls cost one `apt-cache` lookup.
/// Panics with what to install when the build fails.
pub fn guest() -> Guest {
    static GUEST: OnceLock<Guest> = OnceLock::new();
    GUEST.get_or_init(build_guest).clone()
}

fn build_guest() -> Guest {
    let dir = guest_dir();
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create the guest cache {}: {e}", dir.display()));
    let _lock = lock_exclusive(&dir.join(".lock"));
    let script = build_script();
    let out = Command::new("bash")
        .arg(&script)
        .env("OXVIRT_GUEST_DIR", &dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e} (is bash installed?)", script.display()));
    if !out.status.success() {
        panic!(
            "{} failed ({}).\n\
             The test guest needs, as root on Debian 12: apt (for `apt-get download` of \
             linux-image-cloud-amd64's kernel), busybox-static, cpio and gzip:\n  \
             apt-get update && apt-get install -y busybox-static cpio\n\
             stderr:\n{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let guest = Guest {
        kernel: dir.join("vmlinuz"),
        initrd: dir.join("initramfs.cpio.gz"),
    };
    for f in [&guest.kernel, &guest.initrd] {
        let len = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        assert!(
            len > 0,
            "{} reported success but {} is missing or empty",
            script.display(),
            f.display()
        );
    }
    guest
}

/// An exclusive `flock` held until dropped (closing the file releases it).
struct FileLock(#[allow(dead_code)] File);

fn lock_exclusive(path: &Path) -> FileLock {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot open lock file {}: {e}", path.display()));
    loop {
        // SAFETY: flock on a file descriptor we own and keep open for the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc == 0 {
            return FileLock(file);
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            panic!("cannot lock {}: {err}", path.display());
        }
    }
}

/// Poll `path` until its contents contain `needle` or `timeout` passes.
/// A missing file counts as not containing it yet. Returns whether it was found.
pub fn wait_for_file_contains(path: impl AsRef<Path>, needle: &str, timeout: Duration) -> bool {
    let path = path.as_ref();
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(bytes) = std::fs::read(path) {
            if String::from_utf8_lossy(&bytes).contains(needle) {
                return true;
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_for_file_contains_finds_and_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("console.log");
        assert!(!wait_for_file_contains(
            &path,
            "x",
            Duration::from_millis(100)
        ));
        std::fs::write(&path, b"\x1bc\x1b[2JOXVIRT-GUEST-READY\r\n").unwrap();
        assert!(wait_for_file_contains(
            &path,
            GUEST_READY_MARKER,
            Duration::from_secs(1)
        ));
        assert!(!wait_for_file_contains(
            &path,
            "nope",
            Duration::from_millis(100)
        ));
    }

    #[test]
    fn wait_for_file_contains_sees_late_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("late.log");
        let p = path.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            std::fs::write(p, "ready").unwrap();
        });
        assert!(wait_for_file_contains(
            &path,
            "ready",
            Duration::from_secs(5)
        ));
        t.join().unwrap();
    }
}
