//! The `disk` family: `<disk>`.

use super::common::Address;
use crate::domain::model::seclabel::SecLabel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiskType {
    #[default]
    File,
    Block,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiskDevice {
    #[default]
    Disk,
    Cdrom,
    Floppy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskBus {
    Ide,
    Sata,
    Scsi,
    Virtio,
    Fdc,
    Usb,
}

impl DiskBus {
    pub fn as_str(self) -> &'static str {
        match self {
            DiskBus::Ide => "ide",
            DiskBus::Sata => "sata",
            DiskBus::Scsi => "scsi",
            DiskBus::Virtio => "virtio",
            DiskBus::Fdc => "fdc",
            DiskBus::Usb => "usb",
        }
    }
}

/// `<disk>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disk {
    pub disk_type: DiskType,
    pub device: DiskDevice,
    /// `<driver name= type= cache=>`.
    pub driver_name: Option<String>,
    pub driver_type: Option<String>,
    pub driver_cache: Option<String>,
    /// `<driver discard='unmap|ignore'>`.
    pub driver_discard: Option<String>,
    /// `<source file=..>` or `<source dev=..>`; `None` for an empty cdrom.
    pub source: Option<String>,
    /// `<target dev=..>`.
    pub target_dev: String,
    /// `<target bus=..>`; when absent it is derived from `target_dev`'s prefix.
    pub target_bus: Option<DiskBus>,
    pub readonly: bool,
    pub shareable: bool,
    /// `<boot order=N>`.
    pub boot_order: Option<u32>,
    /// `<serial>`.
    pub serial: Option<String>,
    /// Per-disk `<source><seclabel>` elements.
    pub seclabels: Vec<SecLabel>,
    pub address: Option<Address>,
}

impl Disk {
    /// The bus: explicit, or what libvirt derives from the target name.
    pub fn bus(&self) -> DiskBus {
        if let Some(b) = self.target_bus {
            return b;
        }
        let t = self.target_dev.as_str();
        if t.starts_with("vd") {
            DiskBus::Virtio
        } else if t.starts_with("sd") {
            DiskBus::Scsi
        } else if t.starts_with("fd") {
            DiskBus::Fdc
        } else {
            DiskBus::Ide
        }
    }
}
