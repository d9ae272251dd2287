//! The confinement report (`oxvirt confinement DOMAIN`): what a hardened-host operator
//! audits — the confinement value a VM is (or would be) started with, the labels of its
//! stack, the Landlock level this kernel reaches, what `/proc` shows for the running
//! QEMU, and every host path with the access the VM gets and why. Data only; the QEMU
//! driver fills it, the CLI prints it as a table, XML or JSON.

use super::{Confinement, FdAccess, FsAccess, Resource, ResourceKind};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One backend's label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelLabel {
    pub model: String,
    pub label_type: Option<String>,
    pub label: Option<String>,
}

/// What `/proc/PID/status` says of the running QEMU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessStatus {
    pub uid: String,
    pub gid: String,
    pub groups: String,
    pub cap_eff: String,
    pub cap_bnd: String,
    pub no_new_privs: String,
    pub seccomp: String,
}

impl ProcessStatus {
    /// The fields of a `/proc/PID/status` text.
    pub fn parse(status: &str) -> ProcessStatus {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_default()
        };
        ProcessStatus {
            uid: field("Uid:"),
            gid: field("Gid:"),
            groups: field("Groups:"),
            cap_eff: field("CapEff:"),
            cap_bnd: field("CapBnd:"),
            no_new_privs: field("NoNewPrivs:"),
            seccomp: field("Seccomp:"),
        }
    }
}

/// A host path and the access the VM gets to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathAccess {
    pub path: PathBuf,
    /// `r`, `w`, `x`, `c` (create), `d` (delete), `i` (device ioctl), `t` (truncate) in
    /// that order; the Landlock rights when there is a ruleset.
    pub access: String,
    /// Why: the resource kind, a descriptor, a Landlock system rule.
    pub why: Vec<String>,
    /// `UID:GID MODE` of the path on the host now (`None`: it does not exist).
    #[serde(default)]
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfinementReport {
    pub domain: String,
    pub running: bool,
    /// The running VM's id, or the id the next start takes.
    pub id: u32,
    pub pid: Option<u32>,
    /// The emulator QEMU is (or will be) exec'd from.
    pub emulator: PathBuf,
    /// The security stack's models, primary first.
    pub stack: Vec<String>,
    pub labels: Vec<ModelLabel>,
    pub confinement: Confinement,
    /// This kernel's Landlock ABI (0: none).
    pub landlock_abi: u32,
    /// Observed in `/proc` (running VMs only).
    pub process: Option<ProcessStatus>,
    pub paths: Vec<PathAccess>,
}

/// `FsAccess` rights as letters (see [`PathAccess::access`]).
pub fn access_letters(access: &[FsAccess]) -> String {
    use FsAccess::*;
    let has = |set: &[FsAccess]| set.iter().any(|a| access.contains(a));
    [
        (has(&[ReadFile, ReadDir]), 'r'),
        (has(&[WriteFile]), 'w'),
        (has(&[Execute]), 'x'),
        (
            has(&[
                MakeReg, MakeDir, MakeSock, MakeFifo, MakeChar, MakeBlock, MakeSym,
            ]),
            'c',
        ),
        (has(&[RemoveFile, RemoveDir]), 'd'),
        (has(&[IoctlDev]), 'i'),
        (has(&[Truncate]), 't'),
    ]
    .into_iter()
    .filter_map(|(on, c)| on.then_some(c))
    .collect()
}

fn kind_of(r: &Resource) -> (&'static str, &'static str) {
    match r.kind {
        ResourceKind::Disk { readonly: true, .. } => ("disk (read-only)", "r"),
        ResourceKind::Disk { shared: true, .. } => ("disk (shareable)", "rw"),
        ResourceKind::Disk { .. } => ("disk", "rw"),
        ResourceKind::BackingFile => ("backing file", "r"),
        ResourceKind::BootFile => ("kernel/initrd/firmware", "r"),
        ResourceKind::Chardev => ("chardev file", "rw"),
        ResourceKind::VmDir => ("the VM's own directory", "rwcd"),
        ResourceKind::Hostdev => ("host device", "rw"),
    }
}

/// Why a Landlock rule that is no resource of the domain is there.
fn system_rule(path: &Path, emulator: &Path) -> String {
    if path == emulator {
        "emulator".into()
    } else if path.starts_with("/dev") {
        "device node (cgroup_device_acl)".into()
    } else {
        "Landlock rule (libraries, modules, firmware, system files)".into()
    }
}

/// Adds `path` to `out`, or `why` to its entry.
fn add(out: &mut Vec<PathAccess>, path: &Path, access: String, why: String) {
    match out.iter_mut().find(|p| p.path == path) {
        Some(p) if !p.why.contains(&why) => p.why.push(why),
        Some(_) => {}
        None => out.push(PathAccess {
            path: path.to_path_buf(),
            access,
            why: vec![why],
            owner: None,
        }),
    }
}

/// Every host path of `c` and `resources`: with a Landlock ruleset its rights are the
/// access (nothing else is reachable; a resource without a rule shows `-`); without
/// one, the access the resource needs. Descriptors carry their open mode either way.
pub fn host_paths(c: &Confinement, resources: &[Resource], emulator: &Path) -> Vec<PathAccess> {
    let mut out: Vec<PathAccess> = Vec::new();
    let ll = c.landlock.as_ref();
    let ll_rule = |path: &Path| {
        ll.and_then(|l| l.paths.iter().find(|p| p.path == path))
            .map(|p| access_letters(&p.access))
    };
    for r in resources {
        let (what, need) = kind_of(r);
        let access = match ll {
            Some(_) => ll_rule(&r.path).unwrap_or_else(|| "-".into()),
            None => need.to_string(),
        };
        add(&mut out, &r.path, access, what.to_string());
    }
    for f in &c.fds {
        // An open() of the path gets the Landlock rights; the descriptor its mode.
        let access = ll_rule(&f.path).unwrap_or_else(|| {
            match f.access {
                FdAccess::Read => "r",
                FdAccess::Append => "w (append)",
                FdAccess::ReadWrite => "rw",
            }
            .to_string()
        });
        let why = format!("fd {}: {}, opened before the fork", f.fd, f.purpose);
        add(&mut out, &f.path, access, why);
    }
    for p in ll.map(|l| l.paths.as_slice()).unwrap_or_default() {
        if !resources.iter().any(|r| r.path == p.path) {
            let why = system_rule(&p.path, emulator);
            add(&mut out, &p.path, access_letters(&p.access), why);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::{LandlockPath, LandlockRules, PassedFd};

    #[test]
    fn paths_carry_the_landlock_rights_and_why() {
        let disk = Resource {
            path: "/img/a.img".into(),
            kind: ResourceKind::Disk {
                readonly: false,
                shared: false,
            },
            relabel: true,
            label: None,
        };
        let mut c = Confinement {
            fds: vec![PassedFd {
                fd: 1,
                path: "/r/log/qemu/a.log".into(),
                access: FdAccess::Append,
                purpose: "stdout".into(),
            }],
            ..Default::default()
        };
        let emu = Path::new("/usr/bin/qemu-system-x86_64");
        let p = host_paths(&c, std::slice::from_ref(&disk), emu);
        assert_eq!(p[0].access, "rw");
        assert_eq!(p[1].access, "w (append)");
        c.landlock = Some(LandlockRules {
            paths: vec![
                LandlockPath {
                    path: "/img/a.img".into(),
                    access: FsAccess::READ_WRITE.to_vec(),
                },
                LandlockPath {
                    path: "/usr/lib".into(),
                    access: FsAccess::READ_EXECUTE.to_vec(),
                },
            ],
            ..Default::default()
        });
        let p = host_paths(&c, &[disk], emu);
        assert_eq!(p[0].access, "rwt");
        assert_eq!(p[0].why, ["disk"]);
        assert_eq!(p[2].path, PathBuf::from("/usr/lib"));
        assert_eq!(p[2].access, "rx");
        assert_eq!(
            p[2].why,
            ["Landlock rule (libraries, modules, firmware, system files)"]
        );
        let st = ProcessStatus::parse(
            "Uid:\t107\t107\t107\t107\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n",
        );
        assert_eq!(st.uid, "107 107 107 107");
        assert_eq!(st.no_new_privs, "1");
    }
}
