//! The QEMU driver's use of the security framework: which stack qemu.toml asks for
//! ([`SecuritySpec`], handed to the supervisor as data), and the relabel journal
//! `run/qemu/NAME.journal` — written *before* any resource is relabelled, removed only
//! after every label is restored, so a process killed at any point leaves enough behind
//! for the next one to put everything back.

use crate::cgroup;
use crate::confine::Prepared;
use crate::control::LaunchSpec;
use crate::resources::{precreate_chardev_files, vm_resources};
use crate::status::write_atomic;
use oxvirt_config::QemuConfig;
use oxvirt_core::domain::SecLabel;
use oxvirt_core::domain::{format_domain_xml, parse_domain_xml, DiskType, Domain, FormatOptions};
use oxvirt_core::security::VmContext;
use oxvirt_core::security::{
    builtin_backend, BackendSettings, Resource, SecurityManager, Selection,
};
use oxvirt_core::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The security stack as configured, in a form that crosses process boundaries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecuritySpec {
    /// `None`: probe; `Some(names)`: those backends, the first primary.
    pub drivers: Option<Vec<String>>,
    pub settings: BackendSettings,
    pub default_confined: bool,
    pub require_confined: bool,
    /// Create a per-VM cgroup with a device ACL.
    pub cgroup_devices: bool,
    /// The device nodes every VM may open (`cgroup_device_acl` or libvirt's default).
    #[serde(default)]
    pub cgroup_device_acl: Vec<String>,
    /// `plugin_dir` of qemu.toml: where backends that are not built in are looked for.
    #[serde(default)]
    pub plugin_dir: Option<PathBuf>,
}

impl SecuritySpec {
    pub fn from_config(cfg: &QemuConfig) -> SecuritySpec {
        let privileged = nix::unistd::geteuid().is_root();
        let names = cfg.security_driver.names();
        SecuritySpec {
            drivers: (!names.is_empty()).then(|| names.iter().map(|s| s.to_string()).collect()),
            settings: BackendSettings {
                user: cfg.user.clone(),
                group: cfg.group.clone(),
                dynamic_ownership: cfg.dynamic_ownership,
                remember_owner: cfg.remember_owner,
                clear_emulator_capabilities: cfg.clear_emulator_capabilities,
                privileged,
            },
            default_confined: cfg.security_default_confined,
            require_confined: cfg.security_require_confined,
            cgroup_devices: privileged
                && cfg
                    .cgroup_controllers
                    .as_ref()
                    .map(|c| c.iter().any(|n| n == "devices"))
                    .unwrap_or(true),
            cgroup_device_acl: cfg.effective_cgroup_device_acl(),
            plugin_dir: cfg.plugin_dir.clone(),
        }
    }

    /// Build the stack: built-in backends first, then plugins in `plugin_dir` (loaded
    /// once per process; a plugin that failed to load is named in the error when the
    /// backend asked for is not found).
    pub fn manager(&self) -> Result<SecurityManager> {
        let selection = match &self.drivers {
            Some(n) => Selection::Named(n.clone()),
            None => Selection::Probe,
        };
        SecurityManager::new(
            &selection,
            &self.settings,
            self.default_confined,
            self.require_confined,
            &|name, settings| {
                builtin_backend(name, settings).or_else(|| {
                    let dir = self.plugin_dir.as_deref()?;
                    oxvirt_plugin_abi::plugin_set(dir).security_backend(name, settings)
                })
            },
        )
    }
}

/// What was (or is about to be) relabelled for a running VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// The domain's definition as started (names the VM for the backends).
    pub domain_xml: String,
    pub security: SecuritySpec,
    pub labels: Vec<SecLabel>,
    pub resources: Vec<Resource>,
    pub cgroup: Option<PathBuf>,
    /// Which hierarchy `cgroup` is in (absent in journals from before cgroup v2: v1).
    #[serde(default)]
    pub cgroup_kind: Option<cgroup::Kind>,
    /// The supervisor that wrote it (for diagnosis).
    pub supervisor_pid: u32,
}

impl Journal {
    pub fn write(&self, path: &Path) -> Result<()> {
        let data = serde_json::to_vec_pretty(self).map_err(|e| Error::internal(e.to_string()))?;
        write_atomic(path, &data)
    }

    pub fn read(path: &Path) -> Result<Option<Journal>> {
        match std::fs::read(path) {
            Ok(data) => serde_json::from_slice(&data).map(Some).map_err(|e| {
                Error::internal(format!(
                    "relabel journal '{}' is damaged ({e}); restore the owners of the VM's files by hand and remove it",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::system(format!("cannot read '{}'", path.display()), e)),
        }
    }
}

fn vm_context(dom: &Domain, privileged: bool) -> VmContext<'_> {
    VmContext {
        domain: dom,
        name: &dom.name,
        uuid: dom.uuid,
        virt_type: dom.virt_type,
        privileged,
    }
}

/// Start-time security for a VM about to be spawned by its supervisor: generate labels,
/// journal them, label every resource, create the cgroup, and prepare the child's
/// confinement. Returns the confinement and the live XML (with the `<seclabel>`s).
/// On failure everything done so far is undone and the journal removed.
pub fn label_and_confine(spec: &LaunchSpec) -> Result<(Prepared, String)> {
    let mut dom = parse_domain_xml(&spec.domain_xml)?;
    let mgr = spec.security.manager()?;
    let labels = mgr.gen_labels(&vm_context(&dom, spec.security.settings.privileged))?;
    let resources = vm_resources(
        &dom,
        &[spec.runtime_dir.as_path(), spec.domain_dir.as_path()],
    );
    precreate_chardev_files(&resources)
        .map_err(|e| Error::system("cannot create a chardev file of the domain", e))?;
    // Chosen before anything changes: no hierarchy for the ACL is a plain error.
    let hierarchy = match spec.security.cgroup_devices {
        true => Some(cgroup::select()?),
        false => None,
    };
    let cgroup_dir = hierarchy
        .as_ref()
        .map(|h| h.vm_cgroup(&spec.root, spec.id, &spec.name));
    let journal = Journal {
        domain_xml: spec.domain_xml.clone(),
        security: spec.security.clone(),
        labels: labels.clone(),
        resources: resources.clone(),
        cgroup: cgroup_dir.clone(),
        cgroup_kind: hierarchy.as_ref().map(|h| h.kind),
        supervisor_pid: std::process::id(),
    };
    // The journal first: from here on a crash is recoverable.
    journal.write(&spec.journal)?;
    let vm = vm_context(&dom, spec.security.settings.privileged);
    if let Err(e) = mgr.set_all_labels(&vm, &labels, &resources) {
        // set_all_labels rolled back what it did; nothing else happened yet.
        let _ = mgr.release_labels(&vm, &labels);
        let _ = std::fs::remove_file(&spec.journal);
        return Err(e);
    }
    let result = (|| {
        if let (Some(h), Some(dir)) = (&hierarchy, &cgroup_dir) {
            let block: Vec<(PathBuf, bool)> = dom
                .devices
                .disks
                .iter()
                .filter(|d| d.disk_type == DiskType::Block)
                .filter_map(|d| Some((PathBuf::from(d.source.as_ref()?), d.readonly)))
                .collect();
            cgroup::create(
                h.kind,
                dir,
                &cgroup::acl(&spec.security.cgroup_device_acl, &block),
            )?;
        }
        let confinement = mgr.child_confinement(&vm, &labels)?;
        Prepared::new(
            &confinement,
            cgroup_dir.as_deref().map(cgroup::procs_file).as_deref(),
            spec.limits,
        )
    })();
    match result {
        Ok(prepared) => {
            dom.seclabels = mgr.live_seclabels(&labels);
            Ok((
                prepared,
                format_domain_xml(&dom, FormatOptions { live: true }),
            ))
        }
        Err(e) => {
            let _ = recover(&spec.journal);
            Err(e)
        }
    }
}

/// Undo what the journal at `path` records (labels, cgroup) and remove it. No journal:
/// nothing to do.
pub fn recover(path: &Path) -> Result<()> {
    let Some(j) = Journal::read(path)? else {
        return Ok(());
    };
    let dom = parse_domain_xml(&j.domain_xml)?;
    let vm = vm_context(&dom, j.security.settings.privileged);
    let mgr = j.security.manager()?;
    let restored = mgr.restore_all_labels(&vm, &j.labels, &j.resources);
    let released = mgr.release_labels(&vm, &j.labels);
    let cg = match &j.cgroup {
        Some(dir) => cgroup::remove(dir),
        None => Ok(()),
    };
    restored?;
    released?;
    cg?;
    std::fs::remove_file(path)
        .map_err(|e| Error::system(format!("cannot remove '{}'", path.display()), e))
}

/// Re-register the labels of a VM that is being re-adopted.
pub fn reserve(path: &Path) -> Result<()> {
    let Some(j) = Journal::read(path)? else {
        return Ok(());
    };
    let dom = parse_domain_xml(&j.domain_xml)?;
    let mgr = j.security.manager()?;
    mgr.reserve_labels(&vm_context(&dom, j.security.settings.privileged), &j.labels)
}
