//! `<os>`: type/arch/machine, boot order, boot menu, direct kernel boot, loader and
//! nvram; and the boot-order rule that spans `<os>` and the devices.

use super::util::{
    check_attrs, check_supported, enum_attr, first_time, leaf, opt_string, plain_children,
    req_attr, req_text, set_once, string_enum_attr, text, unsupported_element, yes_no,
};
use crate::domain::model::{BootDev, Domain, Nvram, Os};
use crate::domain::xmltree::Node;
use crate::error::{Error, Result};

pub(super) fn parse_os(c: &Node, path: &str) -> Result<Os> {
    check_attrs(c, path, &[])?;
    let mut os = Os::default();
    let mut type_seen = false;
    for child in plain_children(c, path) {
        let (e, p) = child?;
        match e.name.as_str() {
            "type" => {
                leaf(e, &p, &["arch", "machine"])?;
                let t = text(e);
                check_supported(e, &p, "type", &t, &["hvm"], &["xen", "linux", "exe", "uml"])?;
                first_time(&mut type_seen, path, e)?;
                os.os_type = t;
                os.arch = opt_string(e, "arch");
                os.machine = opt_string(e, "machine");
            }
            _ => parse_boot_child(&mut os, e, &p, path)?,
        }
    }
    if !type_seen {
        return Err(Error::xml(format!(
            "XML error: <os> has no <type>hvm</type> (at {path}, line {})",
            c.line
        )));
    }
    Ok(os)
}

/// The children of `<os>` other than `<type>`: what and how the guest boots.
fn parse_boot_child(os: &mut Os, e: &Node, p: &str, path: &str) -> Result<()> {
    match e.name.as_str() {
        "boot" => {
            leaf(e, p, &["dev"])?;
            req_attr(e, p, "dev")?;
            let dev = enum_attr(
                e,
                p,
                "dev",
                &[
                    ("hd", BootDev::Hd),
                    ("cdrom", BootDev::Cdrom),
                    ("fd", BootDev::Fd),
                    ("network", BootDev::Network),
                ],
            )?;
            os.boot.extend(dev);
        }
        "bootmenu" => {
            leaf(e, p, &["enable"])?;
            req_attr(e, p, "enable")?;
            let on = yes_no(e, p, "enable")?.unwrap_or(false);
            set_once(&mut os.bootmenu, on, path, e)?;
        }
        "kernel" => {
            leaf(e, p, &[])?;
            set_once(&mut os.kernel, req_text(e, p)?, path, e)?;
        }
        "initrd" => {
            leaf(e, p, &[])?;
            set_once(&mut os.initrd, req_text(e, p)?, path, e)?;
        }
        "cmdline" => {
            leaf(e, p, &[])?;
            set_once(&mut os.cmdline, text(e), path, e)?;
        }
        "loader" => {
            leaf(e, p, &["readonly", "type"])?;
            set_once(&mut os.loader, req_text(e, p)?, path, e)?;
            os.loader_readonly = yes_no(e, p, "readonly")?;
            os.loader_type = string_enum_attr(e, p, "type", &["rom", "pflash"])?;
        }
        "nvram" => {
            leaf(e, p, &["template"])?;
            let t = text(e);
            let nv = Nvram {
                path: (!t.is_empty()).then_some(t),
                template: opt_string(e, "template"),
            };
            set_once(&mut os.nvram, nv, path, e)?;
        }
        _ => return Err(unsupported_element(path, e)),
    }
    Ok(())
}

/// Every domain has an `<os>` (whose `<type>` [`parse_os`] requires).
pub(super) fn check_present(dom: &Domain) -> Result<()> {
    if dom.os.os_type.is_empty() {
        return Err(Error::xml(format!(
            "XML error: domain '{}' has no <os><type>hvm</type></os>",
            dom.name
        )));
    }
    Ok(())
}

/// Per-device `<boot order>` and `<os><boot dev>` exclude each other (libvirt's rule).
pub(super) fn check_boot_order(dom: &Domain) -> Result<()> {
    let d = &dom.devices;
    let per_device_boot = d.disks.iter().any(|d| d.boot_order.is_some())
        || d.interfaces.iter().any(|i| i.boot_order.is_some());
    if per_device_boot && !dom.os.boot.is_empty() {
        return Err(Error::unsupported(
            "unsupported configuration: per-device boot elements cannot be used together with os/boot elements",
        ));
    }
    Ok(())
}
