//! The security plan of a VM about to start, made before anything on the host changes:
//! the stack's labels (`gen_labels`), the resources to label, and the one
//! [`Confinement`] value — the backends' merged part plus the driver's own: the VM's
//! cgroup with its device ACL, qemu.toml's rlimits, QEMU's seccomp sandbox and the
//! descriptors QEMU starts with. A plan has no side effects (it can be printed); the
//! supervisor carries it out ([`super::journal::apply`], then `launch::spawn`).

use super::{vm_context, SecuritySpec};
use crate::cgroup;
use crate::resources::vm_resources;
use oxvirt_core::domain::{DiskType, Domain, SecLabel};
use oxvirt_core::security::{
    CgroupPlacement, Confinement, FdAccess, PassedFd, Resource, Rlimits, Seccomp,
};
use oxvirt_core::Result;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What the plan of one start depends on besides the configured stack.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    pub domain: &'a Domain,
    pub id: u32,
    /// The driver's root (names the VM's cgroup).
    pub root: &'a Path,
    /// The VM's own directories (runtime and private): labelled for QEMU.
    pub vm_dirs: &'a [&'a Path],
    pub rlimits: Rlimits,
    /// QEMU's stdout and stderr go there.
    pub log: &'a Path,
    /// QEMU's arguments (for the `-sandbox` it is told).
    pub args: &'a [String],
}

/// Labels, resources and confinement of one start; crosses to the supervisor in the
/// launch spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityPlan {
    /// One label per backend, in stack order.
    pub labels: Vec<SecLabel>,
    pub resources: Vec<Resource>,
    pub confinement: Confinement,
}

/// The plan for `input` under the stack `spec`, and the `<seclabel>`s of the live XML.
pub fn plan(spec: &SecuritySpec, input: &PlanInput) -> Result<(SecurityPlan, Vec<SecLabel>)> {
    let mgr = spec.manager()?;
    let vm = vm_context(input.domain, spec.settings.privileged);
    let labels = mgr.gen_labels(&vm)?;
    let resources = vm_resources(input.domain, input.vm_dirs);
    let mut confinement = mgr.confinement(&vm, &labels, &resources)?;
    confinement.cgroup = cgroup_placement(spec, input)?;
    confinement.rlimits = input.rlimits;
    confinement.seccomp = Seccomp {
        sandbox: sandbox_option(input.args),
    };
    confinement.fds = stdio(input.log);
    let live = mgr.live_seclabels(&labels);
    Ok((
        SecurityPlan {
            labels,
            resources,
            confinement,
        },
        live,
    ))
}

/// The VM's cgroup (`None` when the device ACL is off): where it goes in the hierarchy
/// this host has, and its rules.
fn cgroup_placement(spec: &SecuritySpec, input: &PlanInput) -> Result<Option<CgroupPlacement>> {
    if !spec.cgroup_devices {
        return Ok(None);
    }
    let hierarchy = cgroup::select()?;
    let block: Vec<(PathBuf, bool)> = input
        .domain
        .devices
        .disks
        .iter()
        .filter(|d| d.disk_type == DiskType::Block)
        .filter_map(|d| Some((PathBuf::from(d.source.as_ref()?), d.readonly)))
        .collect();
    Ok(Some(CgroupPlacement {
        path: hierarchy.vm_cgroup(input.root, input.id, &input.domain.name),
        kind: hierarchy.kind.as_str().into(),
        devices: cgroup::acl(&spec.cgroup_device_acl, &block)
            .iter()
            .map(cgroup::DeviceRule::line)
            .collect(),
    }))
}

/// The value of `-sandbox` in QEMU's arguments.
fn sandbox_option(args: &[String]) -> Option<String> {
    args.windows(2)
        .find(|w| w[0] == "-sandbox")
        .map(|w| w[1].clone())
}

/// stdin from `/dev/null`, stdout and stderr appended to the domain log.
fn stdio(log: &Path) -> Vec<PassedFd> {
    let fd = |n, path: &Path, access, purpose: &str| PassedFd {
        fd: n,
        path: path.to_path_buf(),
        access,
        purpose: purpose.into(),
    };
    vec![
        fd(0, Path::new("/dev/null"), FdAccess::Read, "stdin"),
        fd(1, log, FdAccess::Append, "stdout (domain log)"),
        fd(2, log, FdAccess::Append, "stderr (domain log)"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxvirt_core::domain::parse_domain_xml;
    use oxvirt_core::security::{BackendSettings, Capabilities};

    fn spec(drivers: &[&str]) -> SecuritySpec {
        SecuritySpec {
            drivers: Some(drivers.iter().map(|s| s.to_string()).collect()),
            settings: BackendSettings::default(),
            default_confined: true,
            require_confined: false,
            cgroup_devices: false,
            cgroup_device_acl: vec![],
            plugin_dir: None,
        }
    }

    #[test]
    fn unknown_backends_are_refused_and_the_driver_parts_derived() {
        // This crate links no backend (the binaries do; the end-to-end tests plan with
        // real ones): an unknown one is an error naming it.
        let dom = parse_domain_xml(
            "<domain type='qemu'><name>p</name><memory>1024</memory><os><type>hvm</type></os></domain>",
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("p.log");
        let args: Vec<String> = ["-name", "guest=p", "-sandbox", "on,obsolete=deny"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let input = PlanInput {
            domain: &dom,
            id: 1,
            root: dir.path(),
            vm_dirs: &[dir.path()],
            rlimits: Rlimits {
                max_processes: 10,
                max_files: 20,
            },
            log: &log,
            args: &args,
        };
        let e = plan(&spec(&["nosuch"]), &input).unwrap_err();
        assert!(e.message.contains("'nosuch' not found"), "{}", e.message);
        assert_eq!(sandbox_option(&args).as_deref(), Some("on,obsolete=deny"));
        assert_eq!(sandbox_option(&args[..2]), None);
        let fds = stdio(&log);
        assert_eq!(fds.iter().map(|f| f.fd).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(!log.exists(), "planning opens nothing");
        assert_eq!(Confinement::default().capabilities, Capabilities::Keep);
    }
}
