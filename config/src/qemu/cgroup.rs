//! qemu.toml's cgroup keys: `cgroup_controllers`, `cgroup_device_acl` (and libvirt's
//! default device list).

use super::schema::QemuConfig;
use crate::check::{bad, check_no_duplicates, Check};
use crate::error::ConfigError;
use crate::field::Field;
use crate::file::Section;

pub(super) const SECTION: Section<QemuConfig> = Section {
    keys: &["cgroup_controllers", "cgroup_device_acl"],
    set,
    check,
};

/// cgroup controllers qemu.conf accepts in `cgroup_controllers`.
pub const CGROUP_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "net_cls",
    "perf_event",
    "name=systemd",
];

/// libvirt's default `cgroup_device_acl`: devices every guest may open.
pub const DEFAULT_CGROUP_DEVICE_ACL: &[&str] = &[
    "/dev/null",
    "/dev/full",
    "/dev/zero",
    "/dev/random",
    "/dev/urandom",
    "/dev/ptmx",
    "/dev/kvm",
    "/dev/userfaultfd",
];

impl QemuConfig {
    /// The devices guests may open: `cgroup_device_acl`, or libvirt's default list.
    pub fn effective_cgroup_device_acl(&self) -> Vec<String> {
        match &self.cgroup_device_acl {
            Some(acl) => acl.clone(),
            None => DEFAULT_CGROUP_DEVICE_ACL
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

fn set(c: &mut QemuConfig, f: &Field<'_>) -> Result<bool, ConfigError> {
    match f.key {
        "cgroup_controllers" => c.cgroup_controllers = Some(f.string_list()?),
        "cgroup_device_acl" => c.cgroup_device_acl = Some(f.string_list()?),
        _ => return Ok(false),
    }
    Ok(true)
}

fn check(c: &QemuConfig, key: &str) -> Check {
    match key {
        "cgroup_controllers" => check_controllers(c.cgroup_controllers.as_deref()),
        "cgroup_device_acl" => check_device_acl(c.cgroup_device_acl.as_deref()),
        _ => Ok(()),
    }
}

fn check_controllers(list: Option<&[String]>) -> Check {
    let Some(list) = list else { return Ok(()) };
    for c in list {
        if !CGROUP_CONTROLLERS.contains(&c.as_str()) {
            return bad(
                format!("'{c}' is not a cgroup controller"),
                format!("use some of {}", CGROUP_CONTROLLERS.join(", ")),
            );
        }
    }
    check_no_duplicates(list.iter().cloned())
}

fn check_device_acl(list: Option<&[String]>) -> Check {
    let Some(list) = list else { return Ok(()) };
    for d in list {
        let clean = d.strip_prefix("/dev/").is_some_and(|rest| {
            rest.split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..")
        });
        if !clean {
            return bad(
                format!("'{d}' is not a device path under /dev"),
                "give absolute paths under /dev without '.' or '..', e.g. \"/dev/kvm\"",
            );
        }
    }
    check_no_duplicates(list.iter().cloned())
}
