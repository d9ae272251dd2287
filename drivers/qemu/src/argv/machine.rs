//! The machine and its accelerator: `<os><type arch machine>` and the machine-level
//! `<features>` (vmport, smm, ioapic, acpi) → `-machine NAME,usb=off[,vmport=on|off]
//! [,smm=on|off][,kernel_irqchip=on|split],dump-guest-core=off[,acpi=off]` (the alias
//! resolved to the probed canonical machine), `<smm><tseg>` → `-global
//! mch.extended-tseg-mbytes=N` (q35 only), `<domain type>` → `-accel kvm|tcg`, each
//! checked against what the emulator can do. `<hap>` (always on where the host has
//! EPT/NPT) and `<pae>` (always on for x86_64) have no option; turning HAP off is
//! refused.

use super::plan::Plan;
use super::props::{kv_escape, Args};
use oxvirt_core::domain::{Domain, VirtType};
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};

/// Only x86 guests; the machine features QEMU can apply.
pub(crate) fn check(dom: &Domain) -> Result<()> {
    if let Some(arch) = dom.os.arch.as_deref() {
        if !matches!(arch, "x86_64" | "i686") {
            return Err(Error::unsupported(format!(
                "<os><type arch='{arch}'>: only x86_64 and i686 guests are supported"
            )));
        }
    }
    let f = &dom.features;
    if f.hap == Some(Some(false)) {
        return Err(Error::unsupported(
            "unsupported configuration: <hap state='off'> cannot be applied: QEMU/KVM uses the host's EPT/NPT whenever it has them; remove <hap>",
        ));
    }
    if f.ioapic.is_some() && dom.virt_type != VirtType::Kvm {
        return Err(Error::unsupported(
            "unsupported configuration: <ioapic driver=..> selects KVM's in-kernel or split irqchip and needs <domain type='kvm'>",
        ));
    }
    if f.smm.as_ref().is_some_and(|s| s.tseg_mib.is_some()) && !is_q35(dom) {
        return Err(Error::unsupported(
            "unsupported configuration: SMM TSEG is only supported with q35 machine type",
        ));
    }
    Ok(())
}

fn is_q35(dom: &Domain) -> bool {
    dom.os
        .machine
        .as_deref()
        .is_some_and(|m| m == "q35" || m.starts_with("pc-q35"))
}

/// `-machine` (libvirt's `qemuBuildMachineCommandLine`).
pub(crate) fn machine(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    let dom = p.dom;
    let name = if p.caps.machines.is_empty() {
        dom.os.machine.as_deref().unwrap_or("pc")
    } else {
        p.caps
            .resolve_machine(dom.os.machine.as_deref())?
            .name
            .as_str()
    };
    let f = &dom.features;
    let mut m = format!("{},usb=off", kv_escape(name));
    if let Some(v) = f.vmport {
        m.push_str(if v { ",vmport=on" } else { ",vmport=off" });
    }
    if let Some(s) = &f.smm {
        m.push_str(if s.state == Some(false) {
            ",smm=off"
        } else {
            ",smm=on"
        });
    }
    match f.ioapic.as_deref() {
        Some("kvm") => m.push_str(",kernel_irqchip=on"),
        Some("qemu") => m.push_str(",kernel_irqchip=split"),
        _ => {}
    }
    m.push_str(",dump-guest-core=off");
    if !dom.features.acpi {
        m.push_str(",acpi=off");
    }
    a.opt("-machine", m);
    Ok(())
}

/// `-accel` (libvirt's `qemuBuildAccelCommandLine`).
pub(crate) fn accel(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    let (caps, emulator) = (&p.caps, p.ctx.emulator.display());
    let accel = match p.dom.virt_type {
        VirtType::Kvm if !caps.kvm_usable || !caps.has("kvm") => {
            return Err(Error::new(
                ErrorCode::ConfigUnsupported,
                ErrorDomain::Qemu,
                format!(
                    "unsupported configuration: Domain requires KVM, but it is not available \
                     for '{emulator}' (/dev/kvm missing or not usable, or QEMU built without KVM). \
                     Check that virtualization is enabled in the host BIOS and the kvm \
                     modules are loaded, or use <domain type='qemu'>"
                ),
            ))
        }
        VirtType::Kvm => "kvm",
        VirtType::Qemu if !caps.has("tcg") => {
            return Err(Error::new(
                ErrorCode::ConfigUnsupported,
                ErrorDomain::Qemu,
                format!(
                    "unsupported configuration: QEMU '{emulator}' has no TCG accelerator; use <domain type='kvm'>"
                ),
            ))
        }
        VirtType::Qemu => "tcg",
    };
    a.opt("-accel", accel);
    if let Some(t) = p.dom.features.smm.as_ref().and_then(|s| s.tseg_mib) {
        a.opt("-global", format!("mch.extended-tseg-mbytes={t}"));
    }
    Ok(())
}
