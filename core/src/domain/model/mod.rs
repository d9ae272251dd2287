//! The domain model: what a libvirt `<domain>` document says, as plain data.
//!
//! Owns: the types, one module per part of the document — the platform (`os`, `cpu`,
//! `features`, `clock`, `lifecycle`), `seclabel`, `metadata`, the `qemu:` namespace,
//! and `devices/` with one module per device family. `<name>`, `<uuid>`, `<title>`,
//! `<description>` and the memory sizes are plain fields of [`Domain`]. Every type is
//! re-exported here, so `oxvirt_core::domain::Disk` and friends are the paths to use.
//! The parser (`parse/`) and the emitter (`format/`) have a module of the same name
//! for each of these; drivers read this model and never the XML. Field names follow
//! the XML element and attribute names.

mod clock;
mod cpu;
mod devices;
mod features;
mod lifecycle;
mod metadata;
mod os;
mod qemu;
mod seclabel;

pub use clock::*;
pub use cpu::*;
pub use devices::*;
pub use features::*;
pub use lifecycle::*;
pub use metadata::*;
pub use os::*;
pub use qemu::*;
pub use seclabel::*;

use uuid::Uuid;

/// `<domain type=...>`: which accelerator runs the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VirtType {
    /// TCG, software emulation.
    #[default]
    Qemu,
    /// KVM, hardware acceleration.
    Kvm,
}

impl VirtType {
    pub fn as_str(self) -> &'static str {
        match self {
            VirtType::Qemu => "qemu",
            VirtType::Kvm => "kvm",
        }
    }
}

/// A whole domain definition.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Domain {
    pub virt_type: VirtType,
    /// The `id` attribute of a running domain's live XML; never part of a definition.
    pub id: Option<u32>,
    pub name: String,
    pub uuid: Uuid,
    pub title: Option<String>,
    pub description: Option<String>,
    /// `<metadata>`: other applications' namespaced XML, kept verbatim.
    pub metadata: Option<Metadata>,
    /// Maximum memory in KiB (`<memory>` after unit conversion).
    pub memory_kib: u64,
    /// `<currentMemory>` in KiB, when given.
    pub current_memory_kib: Option<u64>,
    pub vcpu: Vcpu,
    pub os: Os,
    pub features: Features,
    pub cpu: Option<Cpu>,
    pub clock: Option<Clock>,
    pub on_poweroff: Option<LifecycleAction>,
    pub on_reboot: Option<LifecycleAction>,
    pub on_crash: Option<LifecycleAction>,
    pub devices: Devices,
    /// Domain-level `<seclabel>` elements.
    pub seclabels: Vec<SecLabel>,
    /// `<qemu:commandline>`.
    pub qemu_commandline: Option<QemuCommandline>,
    /// `<qemu:capabilities>`.
    pub qemu_capabilities: Option<QemuCapabilities>,
    /// `<pm>`: guest power management (virt-install writes both as disabled).
    pub pm: Option<Pm>,
}

impl Domain {
    /// Memory the guest starts with, in KiB.
    pub fn current_memory_kib(&self) -> u64 {
        self.current_memory_kib.unwrap_or(self.memory_kib)
    }
    pub fn on_poweroff(&self) -> LifecycleAction {
        self.on_poweroff.unwrap_or(LifecycleAction::Destroy)
    }
    pub fn on_reboot(&self) -> LifecycleAction {
        self.on_reboot.unwrap_or(LifecycleAction::Restart)
    }
    pub fn on_crash(&self) -> LifecycleAction {
        self.on_crash.unwrap_or(LifecycleAction::Destroy)
    }
}
