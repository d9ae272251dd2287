//! cgroup v2: the device ACL is a BPF program attached to the VM's cgroup.
//!
//! The rules are data ([`DeviceRule`]), [`program`] compiles them into instructions (no
//! system calls, unit-tested), and [`attach`] loads and attaches them (the only unsafe
//! code). The cgroup lives in the cgroup2 hierarchy found in `/proc/self/mountinfo`
//! (`/sys/fs/cgroup` on a pure v2 host, `/sys/fs/cgroup/unified` on a hybrid one); no
//! controller needs enabling for device programs.

pub mod attach;
pub mod program;

use super::fs::{err, remove};
use super::rules::DeviceRule;
use oxvirt_core::Result;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// The first cgroup2 mount in `/proc/self/mountinfo`.
pub fn mount() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    cgroup2_mount(&text)
}

/// The mount point of the first `cgroup2` line in a mountinfo text
/// (`ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS`).
fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        if after.split(' ').next()? != "cgroup2" {
            return None;
        }
        before.split(' ').nth(4).map(|p| PathBuf::from(unescape(p)))
    })
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let v = b[i + 1..i + 4]
                .iter()
                .fold(0u32, |a, d| a * 8 + (d - b'0') as u32);
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Create the cgroup at `dir` (in the cgroup2 hierarchy) and attach a program that
/// allows exactly `rules`. On failure the cgroup is removed again.
pub fn create(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    // Compile first: a bad rule leaves nothing behind.
    let insns = program::compile(rules).map_err(err)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| err(format!("cannot create cgroup '{}': {e}", dir.display())))?;
    let res = std::fs::File::open(dir)
        .map_err(|e| err(format!("cannot open cgroup '{}': {e}", dir.display())))
        .and_then(|d| {
            attach::load_and_attach(&insns, d.as_fd())
                .map_err(|e| err(format!("cgroup '{}': {e}", dir.display())))
        });
    if res.is_err() {
        let _ = remove(dir);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cgroup2_mount() {
        let hybrid = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw
";
        assert_eq!(
            cgroup2_mount(hybrid),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        let pure =
            "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(cgroup2_mount(pure), Some(PathBuf::from("/sys/fs/cgroup")));
        let spaced = "30 23 0:26 / /mnt/a\\040b rw - cgroup2 none rw\n";
        assert_eq!(cgroup2_mount(spaced), Some(PathBuf::from("/mnt/a b")));
        assert_eq!(
            cgroup2_mount("36 31 0:33 / /x rw - cgroup cgroup rw\n"),
            None
        );
    }
}
