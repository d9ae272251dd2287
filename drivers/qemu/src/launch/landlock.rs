//! The parent's half of the Landlock step: turn [`LandlockRules`] into a ruleset
//! descriptor (`landlock_create_ruleset` + one `landlock_add_rule` per path and port), so
//! that the child only calls `landlock_restrict_self`. Best effort: the ruleset handles
//! only the rights the running kernel's ABI knows (files from 1, `refer` 2, `truncate`
//! 3, TCP 4, device `ioctl` 5, scopes 6); [`abi`] says which that is.
//!
//! Rights are given per object: a directory rule may carry every right, a rule on a file
//! only the rights a file has (execute, read, write, truncate, ioctl) — the rest are
//! dropped for files, as the kernel requires. A path that does not exist is skipped (a
//! library directory this distribution lacks): a rule cannot widen anything it does not
//! name.

use oxvirt_core::security::{FsAccess, LandlockRules, LandlockScope, NetAccess};
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

const CREATE_RULESET_VERSION: libc::c_uint = 1;
const RULE_PATH_BENEATH: libc::c_int = 1;
const RULE_NET_PORT: libc::c_int = 2;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

#[repr(C)]
struct NetPortAttr {
    allowed_access: u64,
    port: u64,
}

/// The kernel's Landlock ABI version (0: no Landlock).
pub fn abi() -> u32 {
    // SAFETY: landlock_create_ruleset(NULL, 0, VERSION) only returns a number.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(rc).unwrap_or(0)
}

fn fs_bit(a: FsAccess) -> u64 {
    use FsAccess::*;
    1 << match a {
        Execute => 0,
        WriteFile => 1,
        ReadFile => 2,
        ReadDir => 3,
        RemoveDir => 4,
        RemoveFile => 5,
        MakeChar => 6,
        MakeDir => 7,
        MakeReg => 8,
        MakeSock => 9,
        MakeFifo => 10,
        MakeBlock => 11,
        MakeSym => 12,
        Refer => 13,
        Truncate => 14,
        IoctlDev => 15,
    }
}

/// The filesystem rights ABI `abi` handles (`refer` is left out: QEMU never renames
/// across directories, and handling it would forbid even that within its own).
fn handled_fs(abi: u32) -> u64 {
    let mut bits = (1 << 13) - 1; // execute .. make_sym
    if abi >= 3 {
        bits |= fs_bit(FsAccess::Truncate);
    }
    if abi >= 5 {
        bits |= fs_bit(FsAccess::IoctlDev);
    }
    bits
}

/// The rights a rule on a non-directory may carry.
const FILE_RIGHTS: u64 = 1 | 1 << 1 | 1 << 2 | 1 << 14 | 1 << 15;

fn net_bit(a: NetAccess) -> u64 {
    match a {
        NetAccess::BindTcp => 1,
        NetAccess::ConnectTcp => 2,
    }
}

fn scope_bit(s: LandlockScope) -> u64 {
    match s {
        LandlockScope::AbstractUnixSocket => 1,
        LandlockScope::Signal => 2,
    }
}

fn ll_error(what: String, e: std::io::Error) -> Error {
    Error::new(
        ErrorCode::SecurityError,
        ErrorDomain::Security,
        format!("{what}: {e}"),
    )
}

fn syscall_fd(what: &str, rc: libc::c_long) -> Result<OwnedFd> {
    if rc < 0 {
        return Err(ll_error(what.into(), std::io::Error::last_os_error()));
    }
    // SAFETY: the kernel just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(rc as i32) })
}

/// The ruleset of `rules` at this kernel's ABI, ready for `landlock_restrict_self`.
pub(crate) fn ruleset(rules: &LandlockRules) -> Result<OwnedFd> {
    let abi = abi();
    if abi == 0 {
        return Err(Error::new(
            ErrorCode::ConfigUnsupported,
            ErrorDomain::Security,
            "QEMU is to be confined by Landlock, but this kernel has no Landlock (boot with \
             lsm=...,landlock); remove \"landlock\" from security_driver in qemu.toml"
                .to_string(),
        ));
    }
    let unrestricted: u64 = rules.unrestricted_net.iter().map(|n| net_bit(*n)).sum();
    let attr = RulesetAttr {
        handled_access_fs: handled_fs(abi),
        handled_access_net: if abi >= 4 { 3 & !unrestricted } else { 0 },
        scoped: if abi >= 6 {
            rules
                .scopes
                .iter()
                .map(|s| scope_bit(*s))
                .fold(0, |a, b| a | b)
        } else {
            0
        },
    };
    // SAFETY: landlock_create_ruleset with a pointer to and the size of an attr struct
    // on this stack frame.
    let fd = syscall_fd("cannot create a Landlock ruleset", unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &attr as *const RulesetAttr,
            std::mem::size_of::<RulesetAttr>(),
            0 as libc::c_uint,
        )
    })?;
    for p in &rules.paths {
        add_path(&fd, p, attr.handled_access_fs)?;
    }
    if attr.handled_access_net != 0 {
        for port in &rules.net {
            let allowed = port
                .access
                .iter()
                .map(|a| net_bit(*a))
                .fold(0, |a, b| a | b)
                & attr.handled_access_net;
            if allowed != 0 {
                let rule = NetPortAttr {
                    allowed_access: allowed,
                    port: port.port.into(),
                };
                add_rule(&fd, RULE_NET_PORT, (&rule as *const NetPortAttr).cast())
                    .map_err(|e| ll_error(format!("cannot allow TCP port {}", port.port), e))?;
            }
        }
    }
    Ok(fd)
}

fn add_rule(fd: &OwnedFd, kind: libc::c_int, attr: *const libc::c_void) -> std::io::Result<()> {
    // SAFETY: landlock_add_rule on our ruleset with a pointer to the attr struct of
    // `kind`, which the caller keeps alive for the call.
    let rc = unsafe { libc::syscall(libc::SYS_landlock_add_rule, fd.as_raw_fd(), kind, attr, 0) };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn add_path(fd: &OwnedFd, p: &oxvirt_core::security::LandlockPath, handled: u64) -> Result<()> {
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
        .open(&p.path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(ll_error(
                format!("cannot open '{}' for a Landlock rule", p.path.display()),
                e,
            ))
        }
    };
    let is_dir = file.metadata().map(|m| m.is_dir()).unwrap_or(false);
    let mut allowed = p.access.iter().map(|a| fs_bit(*a)).fold(0, |a, b| a | b) & handled;
    if !is_dir {
        allowed &= FILE_RIGHTS;
    }
    if allowed == 0 {
        return Ok(());
    }
    let rule = PathBeneathAttr {
        allowed_access: allowed,
        parent_fd: file.as_raw_fd(),
    };
    add_rule(
        fd,
        RULE_PATH_BENEATH,
        (&rule as *const PathBeneathAttr).cast(),
    )
    .map_err(|e| {
        ll_error(
            format!("cannot add the Landlock rule for '{}'", p.path.display()),
            e,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxvirt_core::security::LandlockPath;

    #[test]
    fn a_ruleset_is_built_for_files_directories_and_missing_paths() {
        assert!(abi() >= 1, "this host's kernel has Landlock");
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("disk.img");
        std::fs::write(&file, b"x").unwrap();
        let rules = LandlockRules {
            paths: vec![
                LandlockPath {
                    path: d.path().into(),
                    access: FsAccess::READ.to_vec(),
                },
                // Directory rights on a file are dropped, not an error.
                LandlockPath {
                    path: file.clone(),
                    access: vec![FsAccess::ReadFile, FsAccess::MakeSock],
                },
                LandlockPath {
                    path: d.path().join("missing"),
                    access: FsAccess::READ.to_vec(),
                },
            ],
            net: vec![oxvirt_core::security::LandlockPort {
                port: 5900,
                access: vec![NetAccess::BindTcp],
            }],
            scopes: vec![LandlockScope::Signal],
            unrestricted_net: vec![],
        };
        assert!(ruleset(&rules).is_ok());
    }
}
