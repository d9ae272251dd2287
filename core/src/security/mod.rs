//! The security backend interface: libvirt's security driver hooks as a Rust trait, the
//! host resources a VM touches, and the *declarative* confinement a backend asks for.
//!
//! Backends never act in the child process: `child_confinement` returns data
//! ([`ChildConfinement`]); the manager merges the stack's parts and the QEMU driver adds
//! its own into one [`Confinement`] value (`confinement.rs`), which its launcher applies
//! between fork and exec, in one documented order, in one module. Backends register with
//! `inventory` ([`BackendRegistration`]) or come from a plugin `.so`.

pub mod confinement;
pub mod manager;
pub mod report;

pub use confinement::{
    Capabilities, CgroupPlacement, ChildConfinement, Confinement, FdAccess, FsAccess, Identity,
    LandlockPath, LandlockPort, LandlockRules, LandlockScope, NetAccess, PassedFd, Rlimits,
    Seccomp,
};
pub use manager::{SecurityManager, Selection};

use crate::domain::{Domain, SecLabel, VirtType};
use crate::error::Result;
use std::path::PathBuf;
use uuid::Uuid;

/// What kind of host resource a path is, which decides how a backend labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    /// A disk image or block device; `readonly`/`shared` as in the disk's XML.
    Disk { readonly: bool, shared: bool },
    /// A backing file of a disk image (labelled, never restored).
    BackingFile,
    /// Kernel, initrd, firmware: read-only content.
    BootFile,
    /// A file or unix-socket chardev (serial, console, channel).
    Chardev,
    /// A directory private to the VM (its runtime and lib dirs).
    VmDir,
    /// A host device node (USB `/dev/bus/usb/..`, PCI, `/dev/vfio/N`).
    Hostdev,
}

/// One host resource of a VM.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resource {
    pub path: PathBuf,
    pub kind: ResourceKind,
    /// False when the XML says `<seclabel relabel='no'/>` for this resource.
    pub relabel: bool,
    /// The per-resource label from the XML, if any (model, label).
    pub label: Option<(String, String)>,
}

/// The VM a hook is called for.
#[derive(Debug, Clone)]
pub struct VmContext<'a> {
    pub domain: &'a Domain,
    pub name: &'a str,
    pub uuid: Uuid,
    pub virt_type: VirtType,
    /// The driver runs privileged (root): DAC may chown, QEMU may change uid.
    pub privileged: bool,
}

/// `<secmodel>` of the capabilities XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecModel {
    pub model: String,
    pub doi: String,
    /// `(virt type, base label)` pairs.
    pub baselabels: Vec<(String, String)>,
}

/// A security backend: libvirt's security driver hook table.
///
/// `label` arguments are the domain's `<seclabel>` for this backend's model after
/// [`SecurityBackend::gen_label`]; the manager stores it in the live XML so a later
/// process (reconnect, stop) passes the same label back.
pub trait SecurityBackend: Send + Sync {
    /// The model name (`dac`, `selinux`, `apparmor`, `landlock`, `none`).
    fn model(&self) -> &str;
    fn doi(&self) -> &str {
        "0"
    }
    /// Whether the backend can work on this host.
    fn probe(&self) -> Result<bool>;
    /// Allocate a label for a VM about to start (dynamic labels), or check a static one.
    fn gen_label(&self, vm: &VmContext, requested: Option<&SecLabel>) -> Result<SecLabel>;
    /// Re-register the label of a VM that is already running (reconnect).
    fn reserve_label(&self, _vm: &VmContext, _label: &SecLabel) -> Result<()> {
        Ok(())
    }
    /// Free what `gen_label` allocated (stop).
    fn release_label(&self, _vm: &VmContext, _label: &SecLabel) -> Result<()> {
        Ok(())
    }
    /// Label every resource (start). On error, what was labelled is restored.
    fn set_all_labels(
        &self,
        vm: &VmContext,
        label: &SecLabel,
        resources: &[Resource],
    ) -> Result<()>;
    /// Undo `set_all_labels` (stop). Runs every restore, reports the first failure.
    fn restore_all_labels(
        &self,
        vm: &VmContext,
        label: &SecLabel,
        resources: &[Resource],
    ) -> Result<()>;
    /// Label one disk image (hotplug).
    fn set_image_label(&self, vm: &VmContext, label: &SecLabel, res: &Resource) -> Result<()> {
        self.set_all_labels(vm, label, std::slice::from_ref(res))
    }
    fn restore_image_label(&self, vm: &VmContext, label: &SecLabel, res: &Resource) -> Result<()> {
        self.restore_all_labels(vm, label, std::slice::from_ref(res))
    }
    /// Label one host device (hotplug).
    fn set_hostdev_label(&self, vm: &VmContext, label: &SecLabel, res: &Resource) -> Result<()> {
        self.set_all_labels(vm, label, std::slice::from_ref(res))
    }
    fn restore_hostdev_label(
        &self,
        vm: &VmContext,
        label: &SecLabel,
        res: &Resource,
    ) -> Result<()> {
        self.restore_all_labels(vm, label, std::slice::from_ref(res))
    }
    /// What the QEMU child must become (applied by the core after fork, before exec).
    fn child_confinement(&self, vm: &VmContext, label: &SecLabel) -> Result<ChildConfinement>;
    /// The same, knowing the VM's host resources (what the manager calls): a backend
    /// whose confinement names paths (Landlock) overrides this; the default ignores them.
    fn child_confinement_for(
        &self,
        vm: &VmContext,
        label: &SecLabel,
        _resources: &[Resource],
    ) -> Result<ChildConfinement> {
        self.child_confinement(vm, label)
    }
    /// The `<secmodel>` for the capabilities XML.
    fn secmodel(&self) -> SecModel {
        SecModel {
            model: self.model().to_string(),
            doi: self.doi().to_string(),
            baselabels: Vec::new(),
        }
    }
    /// The `<seclabel>` shown in the live XML (`None` hides it).
    fn live_seclabel(&self, label: &SecLabel) -> Option<SecLabel> {
        Some(label.clone())
    }
}

/// Settings a backend is created with (from `qemu.toml`), as data so plugins get them too.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackendSettings {
    pub user: Option<String>,
    pub group: Option<String>,
    pub dynamic_ownership: bool,
    pub remember_owner: bool,
    pub clear_emulator_capabilities: bool,
    pub privileged: bool,
    /// A directory of the driver's root where backends keep what must outlive the
    /// process that starts a VM (the SELinux backend's MCS reservations): the root's
    /// `run/qemu`. `None` in older journals.
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
    /// The device nodes every VM may open (qemu.toml `cgroup_device_acl` or libvirt's
    /// default): the Landlock backend allows exactly these under `/dev`.
    #[serde(default)]
    pub device_acl: Vec<String>,
    /// Where the AppArmor backend keeps the VMs' profiles (qemu.toml's
    /// `apparmor_profile_dir`, else `etc/apparmor.d/libvirt` under the root).
    #[serde(default)]
    pub apparmor_profile_dir: Option<PathBuf>,
    /// Where the VMs' logs are (`log/qemu` under the root): QEMU writes its log through
    /// a descriptor that a profile must allow.
    #[serde(default)]
    pub log_dir: Option<PathBuf>,
}

/// A built-in backend: its model name and constructor.
pub struct BackendRegistration {
    pub model: &'static str,
    pub create: fn(&BackendSettings) -> Result<Box<dyn SecurityBackend>>,
}

inventory::collect!(BackendRegistration);

/// The built-in backend `model`, created with `settings`.
pub fn builtin_backend(
    model: &str,
    settings: &BackendSettings,
) -> Option<Result<Box<dyn SecurityBackend>>> {
    inventory::iter::<BackendRegistration>
        .into_iter()
        .find(|r| r.model == model)
        .map(|r| (r.create)(settings))
}

/// Names of the built-in backends linked into this program.
pub fn builtin_backend_models() -> Vec<&'static str> {
    inventory::iter::<BackendRegistration>
        .into_iter()
        .map(|r| r.model)
        .collect()
}
