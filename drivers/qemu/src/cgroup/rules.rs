//! The device ACL as data: one [`DeviceRule`] per allowed device, read from the device
//! nodes, and the VM's list ([`acl`]). v1 writes the rules' lines, v2 compiles them.

use super::fs::err;
use oxvirt_core::Result;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// One allowed device, in v1's `devices.allow` syntax (`c 1:3 rw`): kind `c`, `b` or
/// `a` (all); major and minor a number or `*`; access made of `r`, `w`, `m`. v1 writes
/// [`DeviceRule::line`]; v2 compiles the rules into a BPF program ([`super::v2::program`]).
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

    /// Read back a [`DeviceRule::line`] (the confinement value carries the ACL as lines).
    pub fn parse(line: &str) -> Result<DeviceRule> {
        let bad = || {
            err(format!(
                "bad device rule '{line}': expected e.g. 'c 1:3 rw'"
            ))
        };
        let mut parts = line.split_whitespace();
        let (Some(kind), Some(nums), Some(access), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let (major, minor) = nums.split_once(':').ok_or_else(bad)?;
        let number = |s: &str| s == "*" || s.parse::<u32>().is_ok();
        let kind = match kind {
            "a" | "b" | "c" => kind.chars().next().ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        if !number(major)
            || !number(minor)
            || access.is_empty()
            || !access.chars().all(|c| "rwm".contains(c))
        {
            return Err(bad());
        }
        Ok(DeviceRule {
            kind,
            major: major.into(),
            minor: minor.into(),
            access: access.into(),
        })
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

/// The ACL for a VM: `cgroup_device_acl` (qemu.toml's list or libvirt's default, see
/// `QemuConfig::effective_cgroup_device_acl`; missing nodes skipped, as libvirt does),
/// PTYs (`c 136:* rw`), then its block devices.
pub fn acl(configured: &[String], block_disks: &[(PathBuf, bool)]) -> Vec<DeviceRule> {
    let mut rules = Vec::new();
    for p in configured {
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
