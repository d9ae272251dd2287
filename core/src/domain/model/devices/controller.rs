//! The `controller` family: `<controller>`.

use super::common::Address;

/// `<controller type= index= model=>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Controller {
    pub controller_type: String,
    pub index: Option<u32>,
    pub model: Option<String>,
    pub ports: Option<u32>,
    /// `<model name=..>` (the QEMU device of a PCI controller, e.g. `pcie-root-port`).
    pub model_name: Option<String>,
    /// `<target chassis= port= busNr= hotplug=>` of a PCI controller.
    pub target: Option<ControllerTarget>,
    /// `<driver ...>` attributes in order (queues, iothread, ...), kept verbatim.
    pub driver: Option<Vec<(String, String)>>,
    pub address: Option<Address>,
}

/// `<controller type='pci'><target chassis= port= busNr= hotplug=>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControllerTarget {
    pub chassis: Option<u32>,
    /// Written in hex by libvirt (`0x10`); kept as written.
    pub port: Option<String>,
    pub bus_nr: Option<u32>,
    pub hotplug: Option<bool>,
}
