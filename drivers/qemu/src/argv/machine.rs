//! The machine and its accelerator: `<os><type arch machine>` and `<features><acpi>`
//! → `-machine NAME,usb=off,dump-guest-core=off[,acpi=off]` (the alias resolved to the
//! probed canonical machine), `<domain type>` → `-accel kvm|tcg`, each checked against
//! what the emulator can do.

use super::plan::Plan;
use super::props::{kv_escape, Args};
use oxvirt_core::domain::{Domain, VirtType};
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};

/// Only x86 guests.
pub(crate) fn check(dom: &Domain) -> Result<()> {
    if let Some(arch) = dom.os.arch.as_deref() {
        if !matches!(arch, "x86_64" | "i686") {
            return Err(Error::unsupported(format!(
                "<os><type arch='{arch}'>: only x86_64 and i686 guests are supported"
            )));
        }
    }
    Ok(())
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
    let mut m = format!("{},usb=off,dump-guest-core=off", kv_escape(name));
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
    Ok(())
}
