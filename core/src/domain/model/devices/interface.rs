//! The `interface` family: `<interface>`.

use super::common::Address;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceType {
    User,
    /// `<source network=..>`.
    Network(String),
    /// `<source bridge=..>`.
    Bridge(String),
}

/// `<interface>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub iface_type: InterfaceType,
    /// `<mac address=..>`.
    pub mac: Option<String>,
    /// `<model type=..>`.
    pub model: Option<String>,
    pub boot_order: Option<u32>,
    pub address: Option<Address>,
}
