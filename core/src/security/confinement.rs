//! The confinement of a QEMU process, as data.
//!
//! Two values, one flowing into the other:
//! - [`ChildConfinement`]: what one security backend asks for (identity, capabilities,
//!   `no_new_privs`, exec label, AppArmor profile, Landlock rules). Backends return it
//!   from `child_confinement`; stacked backends' parts are merged
//!   ([`ChildConfinement::merge`]); it crosses the plugin ABI as JSON.
//! - [`Confinement`]: the whole of it — the backends' merged part plus the driver's own
//!   (the cgroup with its device ACL, rlimits, QEMU's seccomp sandbox, the descriptors QEMU
//!   is started with). The launcher consumes it between fork and exec, in one documented
//!   order, and knows no backend; it is serialisable so it crosses to the supervisor and
//!   can be reported (`oxvirt confinement DOMAIN`).
//!
//! Must not touch: processes. This module only describes.

use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One Landlock filesystem access right (`LANDLOCK_ACCESS_FS_*`, lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsAccess {
    Execute,
    WriteFile,
    ReadFile,
    ReadDir,
    RemoveDir,
    RemoveFile,
    MakeChar,
    MakeDir,
    MakeReg,
    MakeSock,
    MakeFifo,
    MakeBlock,
    MakeSym,
    Refer,
    Truncate,
    IoctlDev,
}

impl FsAccess {
    /// Read a file or list a directory.
    pub const READ: &'static [FsAccess] = &[FsAccess::ReadFile, FsAccess::ReadDir];
    /// Read and execute (the emulator, its libraries and modules).
    pub const READ_EXECUTE: &'static [FsAccess] =
        &[FsAccess::Execute, FsAccess::ReadFile, FsAccess::ReadDir];
    /// Read and write an existing file (a writable disk, a chardev file).
    pub const READ_WRITE: &'static [FsAccess] = &[
        FsAccess::ReadFile,
        FsAccess::ReadDir,
        FsAccess::WriteFile,
        FsAccess::Truncate,
    ];
}

/// Access beneath `path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandlockPath {
    pub path: PathBuf,
    pub access: Vec<FsAccess>,
}

/// One Landlock network right (`LANDLOCK_ACCESS_NET_*`, ABI ≥ 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetAccess {
    BindTcp,
    ConnectTcp,
}

/// A TCP port QEMU may bind or connect to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandlockPort {
    pub port: u16,
    pub access: Vec<NetAccess>,
}

/// A Landlock scope (`LANDLOCK_SCOPE_*`, ABI ≥ 6): IPC QEMU may not reach outside its
/// own domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LandlockScope {
    AbstractUnixSocket,
    Signal,
}

/// A Landlock ruleset: everything not allowed here is denied to QEMU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandlockRules {
    #[serde(default)]
    pub paths: Vec<LandlockPath>,
    #[serde(default)]
    pub net: Vec<LandlockPort>,
    #[serde(default)]
    pub scopes: Vec<LandlockScope>,
    /// Network accesses left unrestricted (not handled by the ruleset): binding when a
    /// graphics port is automatic (QEMU picks a free port itself).
    #[serde(default)]
    pub unrestricted_net: Vec<NetAccess>,
}

impl LandlockRules {
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty() && self.net.is_empty() && self.scopes.is_empty()
    }

    fn extend(&mut self, other: LandlockRules) {
        self.paths.extend(other.paths);
        self.net.extend(other.net);
        for s in other.scopes {
            if !self.scopes.contains(&s) {
                self.scopes.push(s);
            }
        }
        for n in other.unrestricted_net {
            if !self.unrestricted_net.contains(&n) {
                self.unrestricted_net.push(n);
            }
        }
    }
}

/// What one backend asks the QEMU child to become. Every field is optional; stacked
/// backends merge theirs ([`ChildConfinement::merge`]). Crosses the plugin ABI as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildConfinement {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Supplementary groups (computed in the parent: no NSS lookups after fork).
    pub groups: Option<Vec<u32>>,
    /// Drop every capability (bounding, effective, permitted, inheritable, ambient).
    pub clear_capabilities: bool,
    /// Set `PR_SET_NO_NEW_PRIVS` (Landlock needs it; it blocks SELinux/AppArmor
    /// transitions that are not bounded by the current domain).
    #[serde(default)]
    pub no_new_privs: bool,
    /// SELinux context for the exec (`setexeccon`).
    pub exec_label: Option<String>,
    /// AppArmor profile to change to on exec (`aa_change_onexec`).
    pub apparmor_profile: Option<String>,
    /// Landlock rules; empty means no Landlock ruleset.
    #[serde(default)]
    pub landlock: LandlockRules,
    /// SELinux context the supervisor creates its QMP connection with
    /// (`/proc/thread-self/attr/sockcreate`; libvirt's `SetDaemonSocketLabel`): the
    /// manager's type at the VM's level, so that QEMU may write to it.
    #[serde(default)]
    pub monitor_socket_label: Option<String>,
}

impl ChildConfinement {
    /// Fold `other` into `self`: later backends fill what earlier ones left unset;
    /// capability clearing, `no_new_privs` and Landlock rules accumulate.
    pub fn merge(&mut self, other: ChildConfinement) {
        self.uid = self.uid.or(other.uid);
        self.gid = self.gid.or(other.gid);
        if self.groups.is_none() {
            self.groups = other.groups;
        }
        self.clear_capabilities |= other.clear_capabilities;
        self.no_new_privs |= other.no_new_privs;
        if self.exec_label.is_none() {
            self.exec_label = other.exec_label;
        }
        if self.apparmor_profile.is_none() {
            self.apparmor_profile = other.apparmor_profile;
        }
        if self.monitor_socket_label.is_none() {
            self.monitor_socket_label = other.monitor_socket_label;
        }
        self.landlock.extend(other.landlock);
    }
}

/// The uid, gid and supplementary groups QEMU runs with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// What happens to QEMU's capability sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capabilities {
    /// Left as the launching process has them.
    #[default]
    Keep,
    /// Bounding, ambient, effective, permitted and inheritable sets emptied.
    DropAll,
}

/// The VM's cgroup, created (with its device ACL) before the fork; QEMU joins it by
/// writing `0` to `PATH/cgroup.procs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupPlacement {
    pub path: PathBuf,
    /// The hierarchy enforcing the ACL: `v1` (devices controller) or `v2` (BPF program).
    pub kind: String,
    /// The allowed devices in `devices.allow` syntax (`c 1:3 rw`); everything else is
    /// denied.
    pub devices: Vec<String>,
}

/// Resource limits set on QEMU (`setrlimit`, soft = hard); 0 leaves a limit alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rlimits {
    /// `RLIMIT_NPROC` (qemu.toml `max_processes`).
    pub max_processes: u64,
    /// `RLIMIT_NOFILE` (qemu.toml `max_files`).
    pub max_files: u64,
}

/// The seccomp filter QEMU installs itself (its `-sandbox` option, from qemu.toml's
/// `seccomp_sandbox`). The launcher does nothing for it; it is here to be reported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seccomp {
    /// The `-sandbox` value on QEMU's command line; `None`: no option (QEMU's default,
    /// no filter).
    pub sandbox: Option<String>,
}

/// How a descriptor QEMU is started with is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FdAccess {
    Read,
    Append,
    ReadWrite,
}

/// A descriptor QEMU gets: `path` opened by the launcher (before any privilege is
/// dropped) and placed at number `fd` in QEMU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassedFd {
    pub fd: i32,
    pub path: PathBuf,
    pub access: FdAccess,
    /// What it is for (`stdin`, `stdout`, `stderr`, a disk's `-add-fd` set, ...).
    pub purpose: String,
}

/// Everything QEMU becomes between fork and exec, applied by the launcher in this
/// order: descriptors, cgroup, rlimits, identity (groups, gid, uid), capabilities,
/// `no_new_privs`, Landlock, exec label (SELinux, then AppArmor) — see
/// `drivers/qemu/src/launch/child.rs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confinement {
    /// `None`: QEMU keeps the launching process's uid, gid and groups.
    pub identity: Option<Identity>,
    pub capabilities: Capabilities,
    pub no_new_privs: bool,
    pub cgroup: Option<CgroupPlacement>,
    pub rlimits: Rlimits,
    /// SELinux context QEMU is exec'd in.
    pub exec_label: Option<String>,
    /// AppArmor profile QEMU is exec'd under.
    pub apparmor_profile: Option<String>,
    /// `None`: no Landlock ruleset.
    pub landlock: Option<LandlockRules>,
    pub seccomp: Seccomp,
    /// Descriptors QEMU starts with, by number; every other descriptor is closed.
    pub fds: Vec<PassedFd>,
    /// SELinux context of the supervisor's QMP connection (not applied to QEMU).
    #[serde(default)]
    pub monitor_socket_label: Option<String>,
}

fn sec_error(msg: String) -> Error {
    Error::new(ErrorCode::SecurityError, ErrorDomain::Security, msg)
}

impl Confinement {
    /// The backends' merged part; the driver's own fields are left at their defaults
    /// for the caller to fill. A uid without a gid (or the reverse) is refused: QEMU
    /// must never run with half an identity.
    pub fn from_backends(c: ChildConfinement) -> Result<Confinement> {
        let identity = match (c.uid, c.gid) {
            (Some(uid), Some(gid)) => Some(Identity {
                uid,
                gid,
                groups: c.groups.unwrap_or_default(),
            }),
            (None, None) if c.groups.is_none() => None,
            _ => {
                return Err(sec_error(format!(
                    "the security stack asked for an incomplete identity for QEMU (uid {:?}, \
                     gid {:?}, groups {:?}); a backend must give uid and gid together",
                    c.uid, c.gid, c.groups
                )))
            }
        };
        Ok(Confinement {
            identity,
            capabilities: if c.clear_capabilities {
                Capabilities::DropAll
            } else {
                Capabilities::Keep
            },
            no_new_privs: c.no_new_privs,
            exec_label: c.exec_label,
            apparmor_profile: c.apparmor_profile,
            landlock: (!c.landlock.is_empty()).then_some(c.landlock),
            monitor_socket_label: c.monitor_socket_label,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_merge_into_one_value() {
        let mut c = ChildConfinement {
            exec_label: Some("system_u:system_r:svirt_t:s0:c1,c2".into()),
            landlock: LandlockRules {
                paths: vec![LandlockPath {
                    path: "/usr".into(),
                    access: FsAccess::READ_EXECUTE.to_vec(),
                }],
                scopes: vec![LandlockScope::Signal],
                ..Default::default()
            },
            no_new_privs: true,
            ..Default::default()
        };
        c.merge(ChildConfinement {
            uid: Some(107),
            gid: Some(108),
            groups: Some(vec![108, 36]),
            clear_capabilities: true,
            exec_label: Some("ignored: the primary's label wins".into()),
            landlock: LandlockRules {
                scopes: vec![LandlockScope::Signal, LandlockScope::AbstractUnixSocket],
                ..Default::default()
            },
            ..Default::default()
        });
        let v = Confinement::from_backends(c).unwrap();
        assert_eq!(
            v.identity,
            Some(Identity {
                uid: 107,
                gid: 108,
                groups: vec![108, 36]
            })
        );
        assert_eq!(v.capabilities, Capabilities::DropAll);
        assert!(v.no_new_privs);
        assert_eq!(
            v.exec_label.as_deref(),
            Some("system_u:system_r:svirt_t:s0:c1,c2")
        );
        let ll = v.landlock.as_ref().unwrap();
        assert_eq!(ll.paths.len(), 1);
        assert_eq!(
            ll.scopes,
            [LandlockScope::Signal, LandlockScope::AbstractUnixSocket]
        );
        // It survives a trip through JSON (the launch spec, the report).
        let text = serde_json::to_string(&v).unwrap();
        assert!(text.contains("\"capabilities\":\"drop-all\""), "{text}");
        assert!(text.contains("\"read_file\""), "{text}");
        assert_eq!(serde_json::from_str::<Confinement>(&text).unwrap(), v);
    }

    #[test]
    fn half_an_identity_is_refused_and_nothing_means_nothing() {
        let e = Confinement::from_backends(ChildConfinement {
            uid: Some(107),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.message.contains("incomplete identity"), "{}", e.message);
        let none = Confinement::from_backends(ChildConfinement::default()).unwrap();
        assert_eq!(none, Confinement::default());
        assert_eq!(none.landlock, None);
    }
}
