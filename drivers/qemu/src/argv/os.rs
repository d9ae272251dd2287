//! `<os>`: the firmware (`<loader>` → `-bios`; UEFI in pflash and `<nvram>` are refused
//! until they are built), the boot menu (`-boot [menu=on,]strict=on`; the boot order
//! itself is `bootindex` on the devices, see `plan::boot`) and direct kernel boot
//! (`-kernel`, `-initrd`, `-append`).

use super::plan::Plan;
use super::props::Args;
use oxvirt_core::domain::Domain;
use oxvirt_core::{Error, Result};

/// UEFI in pflash and `<nvram>` are refused until they are built.
pub(crate) fn check(dom: &Domain) -> Result<()> {
    let os = &dom.os;
    if os.loader_type.as_deref() == Some("pflash") {
        return Err(Error::unsupported(
            "<loader type='pflash'> (UEFI firmware in flash) is not supported by oxvirt at start yet; use a ROM <loader> (e.g. SeaBIOS) or none",
        ));
    }
    if os.nvram.is_some() {
        return Err(Error::unsupported(
            "<nvram> (UEFI variable store) is not supported by oxvirt at start yet",
        ));
    }
    Ok(())
}

/// `-bios` (libvirt's `qemuBuildDomainLoaderCommandLine`).
pub(crate) fn loader(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    if let Some(loader) = &p.dom.os.loader {
        a.opt("-bios", loader.clone());
    }
    Ok(())
}

/// `-boot` and the kernel (libvirt's `qemuBuildBootCommandLine`).
pub(crate) fn boot(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    let os = &p.dom.os;
    a.opt(
        "-boot",
        if os.bootmenu == Some(true) {
            "menu=on,strict=on"
        } else {
            "strict=on"
        },
    );
    if let Some(k) = &os.kernel {
        a.opt("-kernel", k.clone());
    }
    if let Some(i) = &os.initrd {
        a.opt("-initrd", i.clone());
    }
    if let Some(c) = &os.cmdline {
        a.opt("-append", c.clone());
    }
    Ok(())
}
