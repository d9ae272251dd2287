//! The per-VM cgroup with a device ACL (cgroup v1 `devices` controller): deny every
//! device, then allow qemu.toml's `cgroup_device_acl` (libvirt's default list), the PTYs
//! and the VM's block-device disks. QEMU joins it between fork and exec; it is removed
//! when QEMU is gone.
//!
//! cgroup v2 (a device BPF program) is not implemented: where the v1 `devices`
//! controller is absent, start fails with an error saying so unless `cgroup_controllers`
//! leaves `devices` out.

use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Where the v1 devices controller is mounted.
pub const DEVICES_MOUNT: &str = "/sys/fs/cgroup/devices";

/// libvirt's default `cgroup_device_acl`.
pub const DEFAULT_ACL: &[&str] = &[
    "/dev/null",
    "/dev/full",
    "/dev/zero",
    "/dev/random",
    "/dev/urandom",
    "/dev/ptmx",
    "/dev/kvm",
];

fn err(msg: String) -> Error {
    Error::new(ErrorCode::SystemError, ErrorDomain::Qemu, msg)
}

/// One `devices.allow` line: `c 1:3 rw`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRule {
    pub kind: char,
    pub major: String,
    pub minor: String,
    pub access: String,
}

impl DeviceRule {
    pub fn line(&self) -> String {
        format!(
            "{} {}:{} {}",
            self.kind, self.major, self.minor, self.access
        )
    }
}

/// The rule for a device node, `None` if `path` is not a device (or does not exist).
pub fn rule_for(path: &Path, access: &str) -> Option<DeviceRule> {
    let m = std::fs::metadata(path).ok()?;
    let ft = m.file_type();
    let kind = if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else {
        return None;
    };
    let rdev = m.rdev();
    Some(DeviceRule {
        kind,
        major: nix::sys::stat::major(rdev).to_string(),
        minor: nix::sys::stat::minor(rdev).to_string(),
        access: access.into(),
    })
}

/// The ACL for a VM: the configured list (missing nodes skipped, as libvirt does), PTYs
/// (`c 136:* rw`), then its block devices.
pub fn acl(configured: Option<&[String]>, block_disks: &[(PathBuf, bool)]) -> Vec<DeviceRule> {
    let mut rules = Vec::new();
    let defaults: Vec<String> = DEFAULT_ACL.iter().map(|s| s.to_string()).collect();
    for p in configured.unwrap_or(&defaults) {
        if let Some(r) = rule_for(Path::new(p), "rw") {
            if !rules.contains(&r) {
                rules.push(r);
            }
        }
    }
    rules.push(DeviceRule {
        kind: 'c',
        major: "136".into(),
        minor: "*".into(),
        access: "rw".into(),
    });
    for (p, readonly) in block_disks {
        if let Some(r) = rule_for(p, if *readonly { "r" } else { "rw" }) {
            if !rules.contains(&r) {
                rules.push(r);
            }
        }
    }
    rules
}

/// Is the v1 devices controller there?
pub fn available() -> bool {
    Path::new(DEVICES_MOUNT).join("devices.allow").exists()
}

/// The cgroup directory of a VM: `machine/oxvirt-qemu-ID-NAME-ROOTHASH` (the root hash
/// keeps two embedded roots with the same VM id and name apart).
pub fn vm_cgroup_path(root: &Path, id: u32, name: &str) -> PathBuf {
    let mut h: u32 = 0x811c_9dc5;
    for b in root.as_os_str().as_encoded_bytes() {
        h = (h ^ *b as u32).wrapping_mul(0x0100_0193);
    }
    Path::new(DEVICES_MOUNT)
        .join("machine")
        .join(format!("oxvirt-qemu-{id}-{name}-{h:08x}"))
}

/// Create the cgroup at `dir` and install `rules` (deny all first).
pub fn create(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    if !available() {
        return Err(err(format!(
            "the cgroup v1 'devices' controller is not mounted at {DEVICES_MOUNT}; oxvirt does not \
             implement cgroup v2 device filtering yet: set cgroup_controllers = [] in qemu.toml \
             to start without a device ACL"
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| err(format!("cannot create cgroup '{}': {e}", dir.display())))?;
    let write = |file: &str, line: &str| {
        std::fs::write(dir.join(file), line).map_err(|e| {
            err(format!(
                "cannot write '{line}' to {}: {e}",
                dir.join(file).display()
            ))
        })
    };
    let res = (|| {
        write("devices.deny", "a")?;
        for r in rules {
            write("devices.allow", &r.line())?;
        }
        Ok(())
    })();
    if res.is_err() {
        let _ = remove(dir);
    }
    res
}

/// The file a process writes its pid (or `0`, for itself) to, to join the cgroup.
pub fn procs_file(dir: &Path) -> PathBuf {
    dir.join("cgroup.procs")
}

/// Remove the cgroup (it must have no processes left). Missing is fine.
pub fn remove(dir: &Path) -> Result<()> {
    for _ in 0..50 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            // EBUSY while the last task is still exiting.
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    std::fs::remove_dir(dir)
        .map_err(|e| err(format!("cannot remove cgroup '{}': {e}", dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_has_the_defaults_and_ptys() {
        let rules = acl(None, &[]);
        let lines: Vec<String> = rules.iter().map(DeviceRule::line).collect();
        assert!(lines.contains(&"c 1:3 rw".to_string()), "{lines:?}"); // /dev/null
        assert!(lines.contains(&"c 1:9 rw".to_string()), "{lines:?}"); // /dev/urandom
        assert!(lines.contains(&"c 136:* rw".to_string()));
        assert!(rule_for(Path::new("/etc/passwd"), "rw").is_none());
    }

    #[test]
    fn cgroup_paths_differ_per_root() {
        let a = vm_cgroup_path(Path::new("/a"), 1, "demo");
        let b = vm_cgroup_path(Path::new("/b"), 1, "demo");
        assert_ne!(a, b);
        assert!(a.to_string_lossy().contains("machine/oxvirt-qemu-1-demo-"));
    }
}
