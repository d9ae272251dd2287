//! `<controller>` → the controller devices, in libvirt's order: the PCIe root ports
//! (placed by `plan::pci`, before every other device so their fixed slots are free),
//! the USB controller (`plan.usb`: libvirt's default for the machine unless
//! `model='none'`), then SCSI (`virtio-scsi-pci`, also implied by a SCSI disk), SATA
//! (`ahci` on pc, implied by a SATA disk; q35 has it built in) and `virtio-serial-pci`
//! (implied by a virtio console or channel).

use crate::argv::plan::{pci::RootPort, Plan};
use crate::argv::props::{Args, Props};
use oxvirt_core::domain::Domain;
use oxvirt_core::{Error, Result};

/// Every controller device (libvirt's `qemuBuildControllersCommandLine`).
pub(crate) fn build(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    check(p)?;
    for port in &p.root_ports {
        a.json("-device", &root_port(port));
    }
    if let Some(dev) = p.usb {
        let mut u = Props::new().with("driver", dev).with("id", "usb");
        if dev == "piix3-usb-uhci" && !p.q35 {
            // Function 2 of the PIIX3 chip, where libvirt (and real hardware) puts it.
            u = u.with("bus", "pci.0").with("addr", "0x1.0x2");
        }
        a.json("-device", &u);
    }
    let controllers = &p.dom.devices.controllers;
    let given = |t: &str| controllers.iter().find(|c| c.controller_type == t);
    if given("scsi").is_some() || p.needs.scsi {
        let model = given("scsi").and_then(|c| c.model.as_deref());
        if let Some(m) = model.filter(|m| *m != "virtio-scsi") {
            return Err(Error::unsupported(format!(
                "<controller type='scsi' model='{m}'> is not supported; use model='virtio-scsi'"
            )));
        }
        a.json("-device", &device("virtio-scsi-pci", "scsi0"));
    }
    if !p.q35 && (given("sata").is_some() || p.needs.sata) {
        a.json("-device", &device("ahci", "sata0"));
    }
    if given("virtio-serial").is_some() || p.needs.virtio_serial {
        a.json("-device", &device("virtio-serial-pci", "virtio-serial0"));
    }
    Ok(())
}

/// `<controller><driver>` is refused until it is built.
pub(crate) fn check_driver(dom: &Domain) -> Result<()> {
    if let Some(c) = dom.devices.controllers.iter().find(|c| c.driver.is_some()) {
        return Err(Error::unsupported(format!(
            "<controller type='{}'><driver> is not supported by oxvirt at start yet; remove <driver>",
            c.controller_type
        )));
    }
    Ok(())
}

/// What oxvirt can build: index 0 of usb, scsi, sata and virtio-serial, any ide and
/// pci (the PCI ones are checked by `plan::pci`).
fn check(p: &Plan<'_>) -> Result<()> {
    for c in &p.dom.devices.controllers {
        let ok = match c.controller_type.as_str() {
            "usb" | "scsi" | "sata" | "virtio-serial" => c.index.unwrap_or(0) == 0,
            "ide" | "pci" => true,
            _ => false,
        };
        if !ok {
            return Err(Error::unsupported(format!(
                "<controller type='{}' index='{}'> is not supported; only index 0 of usb, scsi, sata and virtio-serial controllers",
                c.controller_type,
                c.index.unwrap_or(0)
            )));
        }
    }
    Ok(())
}

fn device(driver: &str, id: &str) -> Props {
    Props::new().with("driver", driver).with("id", id)
}

fn root_port(r: &RootPort) -> Props {
    let addr = if r.function == 0 {
        format!("0x{:x}", r.slot)
    } else {
        format!("0x{:x}.0x{:x}", r.slot, r.function)
    };
    let mut p = Props::new()
        .with("driver", "pcie-root-port")
        .with("port", r.port)
        .with("chassis", r.chassis)
        .with("id", format!("pci.{}", r.index))
        .with("bus", "pcie.0");
    if r.multifunction {
        p = p.with("multifunction", true);
    }
    p.with("addr", addr)
}
