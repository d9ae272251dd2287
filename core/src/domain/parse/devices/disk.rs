//! The `disk` family: `<disk>` (file and block; disk, cdrom, floppy).

use super::common::{boot_order, parse_address};
use crate::domain::model::{Devices, Disk, DiskBus, DiskDevice, DiskType};
use crate::domain::parse::seclabel::parse_seclabel;
use crate::domain::parse::util::{
    check_attrs, check_supported, enum_attr, first_time, leaf, opt_string, plain_children,
    req_attr, req_text, set_once, string_enum_attr, unsupported_element,
};
use crate::domain::xmltree::Node;
use crate::error::{Error, Result};

pub(super) fn add_disk(d: &mut Devices, e: &Node, path: &str, _parent: &str) -> Result<()> {
    d.disks.push(parse_disk(e, path)?);
    Ok(())
}

/// The children of `<disk>` that may appear once and have no slot of their own.
#[derive(Default)]
struct Seen {
    driver: bool,
    source: bool,
    target: bool,
}

fn parse_disk(c: &Node, path: &str) -> Result<Disk> {
    check_attrs(c, path, &["type", "device"])?;
    let mut disk = Disk {
        disk_type: disk_type(c, path)?,
        device: disk_device(c, path)?,
        ..Disk::default()
    };
    let mut seen = Seen::default();
    for child in plain_children(c, path) {
        let (e, p) = child?;
        match e.name.as_str() {
            "driver" => {
                leaf(e, &p, &["name", "type", "cache", "discard"])?;
                first_time(&mut seen.driver, path, e)?;
                parse_driver(&mut disk, e, &p)?;
            }
            "source" => parse_source(&mut disk, &mut seen.source, e, &p, path)?,
            "target" => {
                leaf(e, &p, &["dev", "bus"])?;
                first_time(&mut seen.target, path, e)?;
                parse_target(&mut disk, e, &p)?;
            }
            _ => parse_flag_or_tag(&mut disk, e, &p, path)?,
        }
    }
    if !seen.target {
        return Err(Error::xml(format!(
            "XML error: <disk> has no <target dev=..> (at {path}, line {})",
            c.line
        )));
    }
    Ok(disk)
}

fn disk_type(c: &Node, path: &str) -> Result<DiskType> {
    if let Some(t) = c.attr("type") {
        check_supported(
            c,
            path,
            "type",
            t,
            &["file", "block"],
            &["dir", "network", "volume", "nvme", "vhostuser", "vhostvdpa"],
        )?;
    }
    let table = [("file", DiskType::File), ("block", DiskType::Block)];
    Ok(enum_attr(c, path, "type", &table)?.unwrap_or_default())
}

fn disk_device(c: &Node, path: &str) -> Result<DiskDevice> {
    if let Some(d) = c.attr("device") {
        check_supported(c, path, "device", d, &["disk", "cdrom", "floppy"], &["lun"])?;
    }
    let table = [
        ("disk", DiskDevice::Disk),
        ("cdrom", DiskDevice::Cdrom),
        ("floppy", DiskDevice::Floppy),
    ];
    Ok(enum_attr(c, path, "device", &table)?.unwrap_or_default())
}

/// `<driver name= type= cache= discard=>`.
fn parse_driver(disk: &mut Disk, e: &Node, p: &str) -> Result<()> {
    disk.driver_name = string_enum_attr(e, p, "name", &["qemu"])?;
    disk.driver_type = opt_string(e, "type");
    disk.driver_discard = string_enum_attr(e, p, "discard", &["unmap", "ignore"])?;
    disk.driver_cache = string_enum_attr(
        e,
        p,
        "cache",
        &[
            "default",
            "none",
            "writethrough",
            "writeback",
            "directsync",
            "unsafe",
        ],
    )?;
    Ok(())
}

/// `<source file=..>` or `<source dev=..>` (by the disk type), with `<seclabel>`s.
fn parse_source(disk: &mut Disk, seen: &mut bool, e: &Node, p: &str, path: &str) -> Result<()> {
    let attr = match disk.disk_type {
        DiskType::File => "file",
        DiskType::Block => "dev",
    };
    check_attrs(e, p, &[attr])?;
    first_time(seen, path, e)?;
    disk.source = opt_string(e, attr).filter(|s| !s.is_empty());
    for child in plain_children(e, p) {
        let (s, sp) = child?;
        match s.name.as_str() {
            "seclabel" => disk.seclabels.push(parse_seclabel(s, &sp, false)?),
            _ => return Err(unsupported_element(p, s)),
        }
    }
    Ok(())
}

/// `<target dev= bus=>`.
fn parse_target(disk: &mut Disk, e: &Node, p: &str) -> Result<()> {
    disk.target_dev = req_attr(e, p, "dev")?.to_owned();
    if let Some(b) = e.attr("bus") {
        check_supported(
            e,
            p,
            "bus",
            b,
            &["ide", "sata", "scsi", "virtio", "fdc", "usb"],
            &["xen", "uml", "sd"],
        )?;
    }
    disk.target_bus = enum_attr(
        e,
        p,
        "bus",
        &[
            ("ide", DiskBus::Ide),
            ("sata", DiskBus::Sata),
            ("scsi", DiskBus::Scsi),
            ("virtio", DiskBus::Virtio),
            ("fdc", DiskBus::Fdc),
            ("usb", DiskBus::Usb),
        ],
    )?;
    Ok(())
}

/// `<readonly/>`, `<shareable/>`, `<boot order>`, `<serial>`, `<address>`.
fn parse_flag_or_tag(disk: &mut Disk, e: &Node, p: &str, path: &str) -> Result<()> {
    match e.name.as_str() {
        "readonly" => {
            leaf(e, p, &[])?;
            disk.readonly = true;
        }
        "shareable" => {
            leaf(e, p, &[])?;
            disk.shareable = true;
        }
        "boot" => set_once(&mut disk.boot_order, boot_order(e, p)?, path, e)?,
        "serial" => {
            leaf(e, p, &[])?;
            set_once(&mut disk.serial, req_text(e, p)?, path, e)?;
        }
        "address" => set_once(&mut disk.address, parse_address(e, p)?, path, e)?,
        _ => return Err(unsupported_element(path, e)),
    }
    Ok(())
}
