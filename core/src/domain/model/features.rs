//! `<features>`: hypervisor features of the machine (ACPI, APIC, PAE, vmport).

/// `<features>`: each is on when present.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Features {
    pub acpi: bool,
    pub apic: bool,
    pub pae: bool,
    /// `<vmport state='on|off'/>` (x86 only); `None` when absent.
    pub vmport: Option<bool>,
}
