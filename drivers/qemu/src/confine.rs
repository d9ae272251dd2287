//! Applying a VM's confinement to the QEMU child, between fork and exec. This is the
//! only code that runs in the child, and it runs in this fixed order:
//!
//! 1. join the VM's cgroup (write `0` to its `cgroup.procs`, opened before the fork);
//!    set `RLIMIT_NPROC` / `RLIMIT_NOFILE` (qemu.toml `max_processes`, `max_files`);
//! 2. set the supplementary groups;
//! 3. drop every capability from the bounding set and the ambient set (needs
//!    `CAP_SETPCAP`, so before the uid changes);
//! 4. set the gid, then the uid (the kernel clears the effective and permitted sets
//!    when a root process becomes another user);
//! 5. clear the effective, permitted and inheritable sets (`capset` with zeros) — for
//!    QEMU that stays root with `clear_emulator_capabilities`;
//! 6. exec.
//!
//! Everything that needs memory or lookups is prepared in the parent ([`Prepared`]); the
//! child only makes raw system calls, which are async-signal-safe. No plugin code runs
//! here: backends only *described* the confinement ([`ChildConfinement`]).

use oxvirt_core::security::ChildConfinement;
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

/// qemu.toml's `max_processes` and `max_files` for QEMU; 0 leaves a limit as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    pub max_processes: u64,
    pub max_files: u64,
}

/// A confinement ready to apply after fork.
pub struct Prepared {
    limits: Limits,
    cgroup_procs: Option<OwnedFd>,
    groups: Option<Vec<libc::gid_t>>,
    uid: Option<libc::uid_t>,
    gid: Option<libc::gid_t>,
    clear_capabilities: bool,
}

fn unsupported(what: &str) -> Error {
    Error::new(
        ErrorCode::ConfigUnsupported,
        ErrorDomain::Security,
        format!("{what} is not implemented in this oxvirt build; remove that backend from security_driver"),
    )
}

impl Prepared {
    /// Check `c` can be applied and open what the child needs.
    pub fn new(
        c: &ChildConfinement,
        cgroup_procs: Option<&Path>,
        limits: Limits,
    ) -> Result<Prepared> {
        if c.exec_label.is_some() {
            return Err(unsupported("an SELinux exec label"));
        }
        if c.apparmor_profile.is_some() {
            return Err(unsupported("an AppArmor profile"));
        }
        if !c.landlock.is_empty() {
            return Err(unsupported("a Landlock ruleset"));
        }
        let cgroup_procs = match cgroup_procs {
            Some(p) => Some(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(p)
                    .map_err(|e| Error::system(format!("cannot open '{}'", p.display()), e))?
                    .into(),
            ),
            None => None,
        };
        Ok(Prepared {
            limits,
            cgroup_procs,
            groups: c.groups.clone(),
            uid: c.uid,
            gid: c.gid,
            clear_capabilities: c.clear_capabilities,
        })
    }

    /// Apply in the child. Only raw system calls; returns the first failure.
    pub fn apply_in_child(&self) -> std::io::Result<()> {
        let check = |rc: libc::c_int| {
            if rc < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(())
            }
        };
        // 1. cgroup
        if let Some(fd) = &self.cgroup_procs {
            // SAFETY: writes one byte from a static buffer to an fd we own.
            let n = unsafe { libc::write(fd.as_raw_fd(), b"0".as_ptr().cast(), 1) };
            if n != 1 {
                return Err(std::io::Error::last_os_error());
            }
        }
        for (resource, value) in [
            (libc::RLIMIT_NPROC, self.limits.max_processes),
            (libc::RLIMIT_NOFILE, self.limits.max_files),
        ] {
            if value > 0 {
                let lim = libc::rlimit {
                    rlim_cur: value,
                    rlim_max: value,
                };
                // SAFETY: setrlimit with a pointer to a value on this stack frame.
                check(unsafe { libc::setrlimit(resource, &lim) })?;
            }
        }
        // 2. supplementary groups
        if let Some(groups) = &self.groups {
            // SAFETY: pointer and length describe a live Vec prepared before the fork.
            check(unsafe { libc::setgroups(groups.len(), groups.as_ptr()) })?;
        }
        // 3. bounding and ambient sets
        if self.clear_capabilities {
            // SAFETY: prctl with integer arguments only.
            check(unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
                    0 as libc::c_ulong,
                    0 as libc::c_ulong,
                    0 as libc::c_ulong,
                )
            })?;
            for cap in 0..64 as libc::c_ulong {
                // SAFETY: prctl with integer arguments; EINVAL past the last capability
                // is expected and ignored.
                let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
                if rc < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
                    return Err(std::io::Error::last_os_error());
                }
            }
        }
        // 4. gid, then uid
        if let Some(gid) = self.gid {
            // SAFETY: plain system call.
            check(unsafe { libc::setresgid(gid, gid, gid) })?;
        }
        if let Some(uid) = self.uid {
            // SAFETY: plain system call.
            check(unsafe { libc::setresuid(uid, uid, uid) })?;
        }
        // 5. effective, permitted, inheritable
        if self.clear_capabilities {
            #[repr(C)]
            struct Header {
                version: u32,
                pid: libc::c_int,
            }
            #[repr(C)]
            struct Data {
                effective: u32,
                permitted: u32,
                inheritable: u32,
            }
            let header = Header {
                version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
                pid: 0,
            };
            let data = [
                Data {
                    effective: 0,
                    permitted: 0,
                    inheritable: 0,
                },
                Data {
                    effective: 0,
                    permitted: 0,
                    inheritable: 0,
                },
            ];
            // SAFETY: capset with a v3 header and the two data words it expects, all on
            // this stack frame.
            check(unsafe {
                libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr())
                    as libc::c_int
            })?;
        }
        Ok(())
    }
}
