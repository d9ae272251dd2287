//! The QEMU driver's use of the security framework, one way: which stack qemu.toml
//! asks for ([`SecuritySpec`], handed to the supervisor as data); the plan of a VM
//! about to start ([`plan()`]: labels, resources and the one [`Confinement`] value —
//! the backends' part plus the driver's cgroup, rlimits, seccomp and descriptors —
//! computed before anything changes); and the relabel journal ([`journal`]:
//! `run/qemu/NAME.journal`, written *before* any resource is relabelled, removed only
//! after every label is restored, so a process killed at any point leaves enough behind
//! for the next one to put everything back). The launcher (`launch/`) consumes the
//! confinement and knows none of this.
//!
//! [`Confinement`]: oxvirt_core::security::Confinement

pub mod journal;
pub mod plan;

pub use journal::{apply, recover, reserve, Journal};
pub use plan::{plan, PlanInput, SecurityPlan};

use oxvirt_config::QemuConfig;
use oxvirt_core::domain::Domain;
use oxvirt_core::security::{
    builtin_backend, BackendSettings, SecurityManager, Selection, VmContext,
};
use oxvirt_core::Result;
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
    /// The stack `cfg` asks for, for the driver whose root is `root`.
    pub fn from_config(cfg: &QemuConfig, root: &Path) -> SecuritySpec {
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
                state_dir: Some(root.join("run/qemu")),
                device_acl: cfg.effective_cgroup_device_acl(),
                apparmor_profile_dir: Some(
                    cfg.apparmor_profile_dir
                        .clone()
                        .unwrap_or_else(|| root.join("etc/apparmor.d/libvirt")),
                ),
                log_dir: Some(root.join("log/qemu")),
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

pub(crate) fn vm_context(dom: &Domain, privileged: bool) -> VmContext<'_> {
    VmContext {
        domain: dom,
        name: &dom.name,
        uuid: dom.uuid,
        virt_type: dom.virt_type,
        privileged,
    }
}
