//! The emulator, the machine and the accelerator: the binary's name (`qemu`,
//! `qemu-system-i386` → i686; `qemu-system-x86_64` → x86_64; `qemu-kvm`/`kvm` →
//! x86_64 with `type='kvm'`; `qemu-system-ARCH` → ARCH), `-M`/`-machine`,
//! `-enable-kvm`, `-accel`, `-no-acpi`.

use super::state::State;
use super::value::{get, kv};
use oxvirt_core::domain::VirtType;
use oxvirt_core::Result;

/// `<emulator>`, `<os><type arch>` and the domain type from the binary's name.
pub(crate) fn emulator(st: &mut State, binary: &str) {
    let base = binary.rsplit('/').next().unwrap_or(binary);
    let arch = match base {
        "qemu" | "qemu-system-i386" => "i686",
        "qemu-kvm" | "kvm" | "qemu-system-x86_64" => "x86_64",
        b => b.strip_prefix("qemu-system-").unwrap_or("i686"),
    };
    if base == "qemu-kvm" || base == "kvm" {
        st.dom.virt_type = VirtType::Kvm;
    }
    st.dom.os.arch = Some(arch.to_string());
    st.dom.devices.emulator = Some(binary.to_string());
}

/// `-enable-kvm`.
pub(crate) fn enable_kvm(st: &mut State, _: &str, _: &str) -> Result<bool> {
    st.dom.virt_type = VirtType::Kvm;
    Ok(true)
}

/// `-accel kvm|tcg`; other accelerators are kept.
pub(crate) fn accel(st: &mut State, _: &str, v: &str) -> Result<bool> {
    match get(&kv(v), "") {
        Some("kvm") => st.dom.virt_type = VirtType::Kvm,
        Some("tcg") => st.dom.virt_type = VirtType::Qemu,
        _ => return Ok(false),
    }
    Ok(true)
}

/// `-M`/`-machine NAME[,type=NAME][,accel=kvm][,acpi=off]`; `usb=` and
/// `dump-guest-core=` are libvirt's own, other properties are dropped with a warning.
pub(crate) fn machine(st: &mut State, _: &str, v: &str) -> Result<bool> {
    let kvs = kv(v);
    let name = get(&kvs, "type").or_else(|| get(&kvs, "")).unwrap_or("pc");
    st.dom.os.machine = Some(name.to_string());
    for (k, val) in &kvs {
        match k.as_str() {
            "" | "type" | "usb" | "dump-guest-core" => {}
            "accel" if val.starts_with("kvm") => st.dom.virt_type = VirtType::Kvm,
            "accel" => {}
            "acpi" => st.dom.features.acpi = val != "off",
            _ => st
                .warnings
                .push(format!("-machine property '{k}={val}' is not converted")),
        }
    }
    Ok(true)
}

/// `-no-acpi`.
pub(crate) fn no_acpi(st: &mut State, _: &str, _: &str) -> Result<bool> {
    st.dom.features.acpi = false;
    Ok(true)
}
