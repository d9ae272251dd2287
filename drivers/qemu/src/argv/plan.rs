//! The facts several builders need, computed once before any option is written:
//! the capabilities with the domain's `<qemu:capabilities>` applied, the machine
//! family, libvirt's disk order and the `bootindex` of each disk and interface
//! ([`boot`]), the PCI topology ([`pci`]), the USB controller QEMU gets and the
//! controllers other families' devices need. Builders read the plan and never write
//! it, so no family decides another family's options.

pub mod boot;
pub mod pci;

use super::context::ArgvContext;
use super::props::Syntax;
use crate::caps::QemuCaps;
use oxvirt_core::domain::{DiskBus, Domain};
use oxvirt_core::{Error, Result};

/// Everything a stage reads: the domain, the host context and the shared facts.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    pub dom: &'a Domain,
    pub ctx: &'a ArgvContext<'a>,
    /// The probed capabilities with `<qemu:capabilities>` add/del applied.
    pub caps: QemuCaps,
    pub syntax: Syntax,
    /// A q35 machine (ICH9, PCIe, AHCI built in, no IDE).
    pub q35: bool,
    /// Positions of `devices.disks` in libvirt's order.
    pub disk_order: Vec<usize>,
    pub boot: boot::BootIndexes,
    /// The `pcie-root-port`s, placed.
    pub root_ports: Vec<pci::RootPort>,
    /// The USB controller device QEMU gets (`None`: `model='none'`).
    pub usb: Option<&'static str>,
    /// Controllers that devices of other families need.
    pub needs: Needs,
}

/// Controllers implied by devices: a disk on the bus, a virtio console or channel.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Needs {
    pub scsi: bool,
    pub sata: bool,
    pub virtio_serial: bool,
}

impl<'a> Plan<'a> {
    pub(crate) fn new(dom: &'a Domain, ctx: &'a ArgvContext<'a>, caps: &QemuCaps) -> Result<Self> {
        let caps = caps.with_overrides(dom);
        let syntax = Syntax::of(&caps, ctx.emulator)?;
        let q35 = is_q35(dom);
        let disk_order = boot::disk_order(&dom.devices.disks);
        let boot = boot::boot_indexes(dom, &disk_order)?;
        let root_ports = pci::root_ports(dom, q35)?;
        let usb = usb_controller(dom, q35)?;
        Ok(Plan {
            dom,
            ctx,
            caps,
            syntax,
            q35,
            disk_order,
            boot,
            root_ports,
            usb,
            needs: needs(dom),
        })
    }
}

/// Whether the machine type is a q35 (ICH9, PCIe, AHCI built in, no IDE).
fn is_q35(dom: &Domain) -> bool {
    dom.os
        .machine
        .as_deref()
        .is_some_and(|m| m == "q35" || m.starts_with("pc-q35"))
}

fn needs(dom: &Domain) -> Needs {
    let d = &dom.devices;
    let on_bus = |b: DiskBus| d.disks.iter().any(|x| x.bus() == b);
    Needs {
        scsi: on_bus(DiskBus::Scsi),
        sata: on_bus(DiskBus::Sata),
        virtio_serial: d
            .channels
            .iter()
            .any(|c| c.target_type.as_deref().unwrap_or("virtio") == "virtio")
            || d.consoles
                .iter()
                .any(|c| c.target_type.as_deref() == Some("virtio")),
    }
}

/// The USB controller device: libvirt's default for the machine (`piix3-usb-uhci` on
/// pc, `qemu-xhci` on q35) unless `<controller type='usb' index='0'>` names a model.
fn usb_controller(dom: &Domain, q35: bool) -> Result<Option<&'static str>> {
    let explicit = dom
        .devices
        .controllers
        .iter()
        .find(|c| c.controller_type == "usb" && c.index.unwrap_or(0) == 0);
    let model = explicit.and_then(|c| c.model.as_deref());
    Ok(match model {
        None => Some(if q35 { "qemu-xhci" } else { "piix3-usb-uhci" }),
        Some("none") => None,
        Some("piix3-uhci") => Some("piix3-usb-uhci"),
        Some("piix4-uhci") => Some("piix4-usb-uhci"),
        Some("ehci") => Some("usb-ehci"),
        Some("ich9-ehci1") => Some("ich9-usb-ehci1"),
        Some("qemu-xhci") => Some("qemu-xhci"),
        Some("nec-xhci") => Some("nec-usb-xhci"),
        Some(m) => {
            return Err(Error::unsupported(format!(
                "<controller type='usb' model='{m}'> is not supported; use piix3-uhci, ehci, qemu-xhci, nec-xhci or none"
            )))
        }
    })
}
