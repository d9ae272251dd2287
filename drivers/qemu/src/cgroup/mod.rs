//! The per-VM cgroup with a device ACL: deny every device, then allow qemu.toml's
//! `cgroup_device_acl` (libvirt's default list), the PTYs and the VM's block-device
//! disks. QEMU joins it between fork and exec (a write of `0` to its `cgroup.procs`,
//! the same file in both hierarchies); it is removed when QEMU is gone.
//!
//! Two ways to enforce the ACL, chosen by [`select`]:
//! - cgroup v1 ([`v1`]): the `devices` controller's `devices.deny` / `devices.allow`,
//!   used whenever that controller is mounted;
//! - cgroup v2 ([`v2`]): a `BPF_PROG_TYPE_CGROUP_DEVICE` program compiled from the same
//!   [`DeviceRule`]s and attached to a cgroup in the cgroup2 hierarchy, used when the v1
//!   controller is absent.
//!
//! The rules and the ACL are `rules.rs`; what both hierarchies do on the filesystem
//! (the error, the removal) is `fs.rs`.
//!
//! Test seam: `OXVIRT_CGROUP_DEVICES=v1|v2` in the supervisor's environment forces one
//! of them (so the v2 path can be exercised on a hybrid host that also has v1).

pub mod fs;
pub mod rules;
pub mod v1;
pub mod v2;

pub(crate) use fs::err;
pub use fs::remove;
pub use rules::{acl, rule_for, DeviceRule};

use oxvirt_core::Result;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which hierarchy enforces the ACL (recorded in the relabel journal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// cgroup v1, the `devices` controller.
    V1,
    /// cgroup v2, a device BPF program.
    V2,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::V1 => "v1",
            Kind::V2 => "v2",
        }
    }

    pub fn from_name(name: &str) -> Result<Kind> {
        match name {
            "v1" => Ok(Kind::V1),
            "v2" => Ok(Kind::V2),
            other => Err(err(format!("unknown cgroup kind '{other}' (v1 or v2)"))),
        }
    }
}

/// Test seam: forces [`Kind::V1`] (`v1`) or [`Kind::V2`] (`v2`) in [`select`].
pub const FORCE_ENV: &str = "OXVIRT_CGROUP_DEVICES";

/// Where this host's VM cgroups go: the kind and the mount it lives under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub kind: Kind,
    pub mount: PathBuf,
}

impl Hierarchy {
    /// The cgroup directory of a VM in this hierarchy.
    pub fn vm_cgroup(&self, root: &Path, id: u32, name: &str) -> PathBuf {
        vm_cgroup_path(&self.mount, root, id, name)
    }
}

/// Choose the hierarchy: v1 when its `devices` controller is mounted, else v2 when a
/// cgroup2 mount exists, else an error saying how to start without a device ACL.
/// [`FORCE_ENV`] overrides the order (a test seam; it still needs that hierarchy).
pub fn select() -> Result<Hierarchy> {
    let v1 = || {
        v1::available().then(|| Hierarchy {
            kind: Kind::V1,
            mount: PathBuf::from(v1::DEVICES_MOUNT),
        })
    };
    let v2 = || {
        v2::mount().map(|mount| Hierarchy {
            kind: Kind::V2,
            mount,
        })
    };
    match std::env::var(FORCE_ENV).ok().as_deref() {
        None | Some("") => v1().or_else(v2).ok_or_else(|| {
            err(format!(
                "neither the cgroup v1 'devices' controller (at {}) nor a cgroup2 mount (in \
                 /proc/self/mountinfo) is there for the VM's device ACL: set \
                 cgroup_controllers = [] in qemu.toml to start without one",
                v1::DEVICES_MOUNT
            ))
        }),
        Some("v1") => v1().ok_or_else(|| {
            err(format!(
                "{FORCE_ENV}=v1, but the cgroup v1 'devices' controller is not mounted at {}",
                v1::DEVICES_MOUNT
            ))
        }),
        Some("v2") => v2().ok_or_else(|| {
            err(format!(
                "{FORCE_ENV}=v2, but there is no cgroup2 mount in /proc/self/mountinfo"
            ))
        }),
        Some(other) => Err(err(format!(
            "{FORCE_ENV}='{other}' is neither 'v1' nor 'v2'"
        ))),
    }
}

/// The cgroup directory of a VM under `mount`: `machine/oxvirt-qemu-ID-NAME-ROOTHASH`
/// (the root hash keeps two embedded roots with the same VM id and name apart).
pub fn vm_cgroup_path(mount: &Path, root: &Path, id: u32, name: &str) -> PathBuf {
    let mut h: u32 = 0x811c_9dc5;
    for b in root.as_os_str().as_encoded_bytes() {
        h = (h ^ *b as u32).wrapping_mul(0x0100_0193);
    }
    mount
        .join("machine")
        .join(format!("oxvirt-qemu-{id}-{name}-{h:08x}"))
}

/// Create the cgroup at `dir` in the hierarchy `kind` and install `rules` (everything
/// else denied). On failure nothing is left behind.
pub fn create(kind: Kind, dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    match kind {
        Kind::V1 => v1::create(dir, rules),
        Kind::V2 => v2::create(dir, rules),
    }
}

/// The file a process writes its pid (or `0`, for itself) to, to join the cgroup.
pub fn procs_file(dir: &Path) -> PathBuf {
    dir.join("cgroup.procs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_has_the_defaults_and_ptys() {
        let defaults: Vec<String> = oxvirt_config::DEFAULT_CGROUP_DEVICE_ACL
            .iter()
            .map(|s| s.to_string())
            .collect();
        let rules = acl(&defaults, &[]);
        let lines: Vec<String> = rules.iter().map(DeviceRule::line).collect();
        assert!(lines.contains(&"c 1:3 rw".to_string()), "{lines:?}"); // /dev/null
        assert!(lines.contains(&"c 1:9 rw".to_string()), "{lines:?}"); // /dev/urandom
        assert!(lines.contains(&"c 136:* rw".to_string()));
        assert!(rule_for(Path::new("/etc/passwd"), "rw").is_none());
        for r in &rules {
            assert_eq!(&DeviceRule::parse(&r.line()).unwrap(), r);
        }
        for bad in [
            "",
            "c 1:3",
            "x 1:3 rw",
            "c 1-3 rw",
            "c a:3 rw",
            "c 1:3 rx",
            "c 1:3 rw z",
        ] {
            assert!(DeviceRule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cgroup_paths_differ_per_root() {
        let m = Path::new(v1::DEVICES_MOUNT);
        let a = vm_cgroup_path(m, Path::new("/a"), 1, "demo");
        let b = vm_cgroup_path(m, Path::new("/b"), 1, "demo");
        assert_ne!(a, b);
        assert!(a.to_string_lossy().contains("machine/oxvirt-qemu-1-demo-"));
    }
}
