//! The parent's half of the launch: turn a [`Confinement`] and QEMU's command into what
//! the child needs — descriptors opened, paths and strings as C strings, pointer arrays
//! built, capabilities of this process checked — so that the child (`child.rs`) only
//! makes system calls. One `prepare_*` per step of the child, in the child's order.
//! Steps whose backend is not in this build refuse here, before anything forks.

use oxvirt_core::security::{
    Capabilities, Confinement, FdAccess, Identity, LandlockRules, PassedFd,
};
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exec {
    pub binary: std::path::PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: std::path::PathBuf,
    /// The file mode creation mask QEMU starts with.
    pub umask: u32,
}

/// The command as C strings and NUL-terminated pointer arrays into them.
pub(crate) struct PreparedExec {
    pub binary: CString,
    _argv: Vec<CString>,
    pub argv_ptrs: Vec<*const libc::c_char>,
    _envp: Vec<CString>,
    pub envp_ptrs: Vec<*const libc::c_char>,
    pub cwd: CString,
    pub umask: libc::mode_t,
}

/// Bytes to write to the first existing file of `paths` (an LSM's `attr/exec`).
pub(crate) struct AttrWrite {
    pub paths: Vec<CString>,
    pub data: Vec<u8>,
}

/// The identity as the system calls take it.
pub(crate) struct PreparedIdentity {
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    pub groups: Vec<libc::gid_t>,
}

/// Everything the child applies, in the child's order.
pub(crate) struct Prepared {
    /// (source, number in QEMU); every source is numbered above `max_target`.
    pub fds: Vec<(OwnedFd, libc::c_int)>,
    pub max_target: libc::c_int,
    pub cgroup_procs: Option<OwnedFd>,
    pub rlimits: Vec<(libc::__rlimit_resource_t, u64)>,
    pub identity: Option<PreparedIdentity>,
    pub drop_caps: bool,
    /// This process holds `CAP_SETPCAP`, so the child can empty the bounding set.
    pub drop_bounding: bool,
    pub no_new_privs: bool,
    pub landlock: Option<OwnedFd>,
    pub selinux_exec: Option<AttrWrite>,
    pub apparmor_exec: Option<AttrWrite>,
    pub exec: PreparedExec,
}

fn unsupported_here(what: &str) -> Error {
    Error::new(
        ErrorCode::ConfigUnsupported,
        ErrorDomain::Security,
        format!(
            "QEMU is to be confined by {what}, but this kernel does not offer it; remove \
             that backend from security_driver in qemu.toml"
        ),
    )
}

fn cstring(what: &str, bytes: &[u8]) -> Result<CString> {
    CString::new(bytes).map_err(|_| {
        Error::invalid_arg(format!(
            "{what} '{}' contains a NUL byte",
            String::from_utf8_lossy(bytes)
        ))
    })
}

fn path_cstring(what: &str, p: &Path) -> Result<CString> {
    cstring(what, p.as_os_str().as_bytes())
}

/// Refuse what this build cannot apply. Cheap and without side effects, so the driver
/// calls it before anything is relabelled; `prepare` calls it again.
pub fn check(c: &Confinement) -> Result<()> {
    check_landlock(c.landlock.as_ref())?;
    prepare_selinux_exec(c.exec_label.as_deref())?;
    prepare_apparmor_exec(c.apparmor_profile.as_deref())?;
    Ok(())
}

/// Open and convert everything the child needs for `c` and `exec`.
pub(crate) fn prepare(c: &Confinement, exec: &Exec) -> Result<Prepared> {
    check(c)?;
    let (fds, max_target) = prepare_fds(&c.fds)?;
    let drop_caps = c.capabilities == Capabilities::DropAll;
    Ok(Prepared {
        fds,
        max_target,
        cgroup_procs: prepare_cgroup(c)?,
        rlimits: [
            (libc::RLIMIT_NPROC, c.rlimits.max_processes),
            (libc::RLIMIT_NOFILE, c.rlimits.max_files),
        ]
        .into_iter()
        .filter(|(_, v)| *v > 0)
        .collect(),
        identity: c.identity.as_ref().map(prepare_identity),
        drop_caps,
        drop_bounding: drop_caps && has_effective_cap(CAP_SETPCAP),
        no_new_privs: c.no_new_privs,
        landlock: prepare_landlock(c.landlock.as_ref())?,
        selinux_exec: prepare_selinux_exec(c.exec_label.as_deref())?,
        apparmor_exec: prepare_apparmor_exec(c.apparmor_profile.as_deref())?,
        exec: prepare_exec(exec)?,
    })
}

/// Move `fd` to a number above `floor` (close-on-exec), unless it is there already.
pub(crate) fn above(fd: OwnedFd, floor: libc::c_int) -> Result<OwnedFd> {
    if fd.as_raw_fd() > floor {
        return Ok(fd);
    }
    // SAFETY: fcntl F_DUPFD_CLOEXEC on a descriptor we own; it returns a new one or -1.
    let n = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, floor + 1) };
    if n < 0 {
        return Err(Error::system(
            "cannot renumber a descriptor for QEMU",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: the kernel just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(n) })
}

fn prepare_fds(fds: &[PassedFd]) -> Result<(Vec<(OwnedFd, libc::c_int)>, libc::c_int)> {
    let max_target = fds.iter().map(|f| f.fd).max().unwrap_or(2).max(2);
    let mut out = Vec::new();
    for f in fds {
        if f.fd < 0 || fds.iter().filter(|o| o.fd == f.fd).count() > 1 {
            return Err(Error::internal(format!(
                "descriptor {} for QEMU ({}) is negative or given twice",
                f.fd, f.purpose
            )));
        }
        let mut o = std::fs::OpenOptions::new();
        match f.access {
            FdAccess::Read => o.read(true),
            FdAccess::Append => o.create(true).append(true),
            FdAccess::ReadWrite => o.read(true).write(true),
        };
        let file = o.open(&f.path).map_err(|e| {
            Error::system(
                format!(
                    "cannot open '{}' ({}) for QEMU",
                    f.path.display(),
                    f.purpose
                ),
                e,
            )
        })?;
        out.push((above(file.into(), max_target)?, f.fd));
    }
    Ok((out, max_target))
}

fn prepare_cgroup(c: &Confinement) -> Result<Option<OwnedFd>> {
    let Some(cg) = &c.cgroup else {
        return Ok(None);
    };
    let procs = cg.path.join("cgroup.procs");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&procs)
        .map_err(|e| Error::system(format!("cannot open '{}'", procs.display()), e))?;
    Ok(Some(f.into()))
}

fn prepare_identity(id: &Identity) -> PreparedIdentity {
    PreparedIdentity {
        uid: id.uid,
        gid: id.gid,
        groups: id.groups.clone(),
    }
}

const CAP_SETPCAP: u32 = 8;

/// Whether this thread has capability `cap` in its effective set.
fn has_effective_cap(cap: u32) -> bool {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    let header = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut data = [0u32; 6];
    // SAFETY: capget with a v3 header and room for its two three-word data structs.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &header as *const Header,
            data.as_mut_ptr(),
        )
    };
    let word = if cap < 32 { data[0] } else { data[3] };
    rc == 0 && word & (1 << (cap % 32)) != 0
}

/// The Landlock ruleset descriptor (`landlock_create_ruleset` + `landlock_add_rule`,
/// `landlock.rs`), built here so the child only calls `landlock_restrict_self`.
fn prepare_landlock(rules: Option<&LandlockRules>) -> Result<Option<OwnedFd>> {
    rules.map(super::landlock::ruleset).transpose()
}

/// Without side effects: refuse Landlock rules on a kernel without Landlock.
fn check_landlock(rules: Option<&LandlockRules>) -> Result<()> {
    if rules.is_some() && super::landlock::abi() == 0 {
        return Err(unsupported_here("Landlock"));
    }
    Ok(())
}

/// SELinux `setexeccon`: the context written to `/proc/thread-self/attr/exec` (the
/// calling thread's, which after the fork is the child's only one), else
/// `/proc/self/attr/exec`; the write is `child.rs`'s exec label step. Refused when
/// this host has no SELinux (no selinuxfs), before anything forks.
fn prepare_selinux_exec(label: Option<&str>) -> Result<Option<AttrWrite>> {
    let Some(label) = label else {
        return Ok(None);
    };
    if !Path::new("/sys/fs/selinux/enforce").exists() {
        return Err(Error::new(
            ErrorCode::ConfigUnsupported,
            ErrorDomain::Security,
            format!(
                "QEMU is to be exec'd in the SELinux context '{label}', but SELinux is not \
                 enabled on this host (no /sys/fs/selinux); remove \"selinux\" from \
                 security_driver in qemu.toml"
            ),
        ));
    }
    Ok(Some(AttrWrite {
        paths: vec![
            cstring("path", b"/proc/thread-self/attr/exec")?,
            cstring("path", b"/proc/self/attr/exec")?,
        ],
        data: cstring("SELinux exec label", label.as_bytes())?.into_bytes(),
    }))
}

/// AppArmor `aa_change_onexec`: `exec PROFILE` written to
/// `/proc/self/attr/apparmor/exec` (kernels with LSM stacking), else
/// `/proc/self/attr/exec`; the write is `child.rs`'s exec label step, after SELinux's.
/// Refused when this host's kernel has no AppArmor, before anything forks.
fn prepare_apparmor_exec(profile: Option<&str>) -> Result<Option<AttrWrite>> {
    let Some(profile) = profile else {
        return Ok(None);
    };
    if !Path::new("/sys/kernel/security/apparmor/profiles").exists() {
        return Err(Error::new(
            ErrorCode::ConfigUnsupported,
            ErrorDomain::Security,
            format!(
                "QEMU is to be exec'd under the AppArmor profile '{profile}', but AppArmor \
                 is not enabled on this host (no /sys/kernel/security/apparmor); remove \
                 \"apparmor\" from security_driver in qemu.toml"
            ),
        ));
    }
    Ok(Some(AttrWrite {
        paths: vec![
            cstring("path", b"/proc/self/attr/apparmor/exec")?,
            cstring("path", b"/proc/self/attr/exec")?,
        ],
        data: cstring("AppArmor profile", format!("exec {profile}").as_bytes())?.into_bytes(),
    }))
}

fn prepare_exec(e: &Exec) -> Result<PreparedExec> {
    let binary = path_cstring("QEMU binary", &e.binary)?;
    let mut argv = vec![binary.clone()];
    for a in &e.args {
        argv.push(cstring("QEMU argument", a.as_bytes())?);
    }
    let mut envp = Vec::new();
    for (k, v) in &e.env {
        envp.push(cstring(
            "QEMU environment variable",
            format!("{k}={v}").as_bytes(),
        )?);
    }
    let ptrs = |v: &[CString]| {
        v.iter()
            .map(|c| c.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect::<Vec<_>>()
    };
    Ok(PreparedExec {
        argv_ptrs: ptrs(&argv),
        envp_ptrs: ptrs(&envp),
        binary,
        _argv: argv,
        _envp: envp,
        cwd: path_cstring("working directory", &e.cwd)?,
        umask: e.umask & 0o777,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxvirt_core::security::{FsAccess, LandlockPath};

    #[test]
    fn steps_without_a_backend_refuse_before_anything_forks() {
        let mut c = Confinement {
            exec_label: Some("system_u:system_r:svirt_t:s0:c1,c2".into()),
            ..Default::default()
        };
        // This host has no SELinux: the label is refused, naming the cause.
        let e = check(&c).unwrap_err();
        assert!(
            e.message.contains("SELinux is not enabled"),
            "{}",
            e.message
        );
        c.exec_label = None;
        c.apparmor_profile = Some("libvirt-x".into());
        let e = check(&c).unwrap_err();
        assert!(
            e.message.contains("AppArmor is not enabled"),
            "{}",
            e.message
        );
        c.apparmor_profile = None;
        // This host's kernel has Landlock: a ruleset is accepted and built.
        c.landlock = Some(LandlockRules {
            paths: vec![LandlockPath {
                path: "/".into(),
                access: FsAccess::READ.to_vec(),
            }],
            ..Default::default()
        });
        assert!(check(&c).is_ok());
        assert!(prepare_landlock(c.landlock.as_ref()).unwrap().is_some());
        c.landlock = None;
        assert!(check(&c).is_ok());
    }

    #[test]
    fn descriptors_are_opened_above_their_targets_and_bad_ones_refused() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("log");
        let fd = |n, p: &Path, a| PassedFd {
            fd: n,
            path: p.to_path_buf(),
            access: a,
            purpose: format!("fd{n}"),
        };
        let (fds, max) = prepare_fds(&[
            fd(0, Path::new("/dev/null"), FdAccess::Read),
            fd(1, &log, FdAccess::Append),
            fd(7, &log, FdAccess::Append),
        ])
        .unwrap();
        assert_eq!(max, 7);
        assert!(fds.iter().all(|(src, _)| src.as_raw_fd() > 7));
        assert!(log.exists(), "append creates the log");
        let e = prepare_fds(&[fd(1, &log, FdAccess::Append), fd(1, &log, FdAccess::Append)])
            .err()
            .unwrap();
        assert!(e.message.contains("given twice"), "{}", e.message);
        let e = prepare_fds(&[fd(0, &d.path().join("no/such"), FdAccess::Read)])
            .err()
            .unwrap();
        assert!(e.message.contains("no/such"), "{}", e.message);
    }

    #[test]
    fn a_nul_byte_in_the_command_is_an_error() {
        let e = prepare_exec(&Exec {
            binary: "/usr/bin/qemu-system-x86_64".into(),
            args: vec!["-name".into(), "a\0b".into()],
            env: vec![],
            cwd: "/".into(),
            umask: 0o002,
        })
        .err()
        .unwrap();
        assert!(e.message.contains("NUL"), "{}", e.message);
    }
}
