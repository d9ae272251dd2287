//! `<disk>` → `-blockdev` (storage node + format node) and `-device`, as libvirt 9;
//! without the `blockdev` capability the pre-4.2 `-drive ...,if=none` + `drive=`.
//!
//! Disks come in libvirt's order (`plan.disk_order`). Node names are
//! `libvirt-N-storage`/`libvirt-N-format` with N counted from the last disk (libvirt
//! walks the disk list backwards; an empty cdrom uses up its number too). Device ids:
//! `ide0-B-U`, `sata0-0-U`, `scsi0-0-0-U`, `virtio-diskN`. Floppy and USB disks are not
//! supported yet.

use crate::argv::plan::{boot::target_index, Plan};
use crate::argv::props::{Args, Props};
use oxvirt_core::domain::{Disk, DiskBus, DiskDevice, DiskType};
use oxvirt_core::{Error, Result};

/// Formats the builder accepts for `<driver type=..>` (never probed: default raw).
const FORMATS: &[&str] = &["raw", "qcow2", "qed", "vmdk", "vpc", "vdi", "vhdx", "luks"];

/// Every disk (libvirt's `qemuBuildDisksCommandLine`).
pub(crate) fn build(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    let disks = &p.dom.devices.disks;
    let mut seen = std::collections::HashSet::new();
    for d in disks {
        if !seen.insert(d.target_dev.as_str()) {
            return Err(Error::xml(format!(
                "disk '{}': target dev used by two disks; give each disk its own <target dev>",
                d.target_dev
            )));
        }
    }
    let total = p.disk_order.len();
    for (pos, &n) in p.disk_order.iter().enumerate() {
        disk(p, &disks[n], total - pos, p.boot.disks[n], a)?;
    }
    Ok(())
}

/// One disk, checked: what its options are made of.
struct Checked<'d> {
    name: &'d str,
    bus: DiskBus,
    /// Index of the target name within its bus (`hdc` → 2).
    idx: u32,
    format: &'d str,
    cdrom: bool,
    readonly: bool,
    /// The cache mode, `none` for an unspecified one on a shareable disk.
    cache: Option<&'d str>,
    /// The blockdev `cache` object and the device's `write-cache`, unless default.
    cache_props: Option<(Props, bool)>,
}

fn disk(p: &Plan<'_>, d: &Disk, node: usize, boot: Option<u32>, a: &mut Args) -> Result<()> {
    let c = check(d)?;
    let legacy = a.syntax().legacy_drive;
    let mut drive = match (&d.source, legacy) {
        (Some(src), false) => Some(blockdev(d, &c, src, node, a)),
        _ => None,
    };
    let (id, mut dev) = frontend(p, &c)?;
    if legacy {
        a.opt("-drive", legacy_drive(d, &c, &id).to_kv());
        drive = Some(format!("drive-{id}"));
    }
    if d.shareable {
        dev = dev.with("share-rw", true);
    }
    dev = dev
        .with_opt("drive", drive)
        .with("id", id)
        .with_opt("bootindex", boot);
    if let Some((_, wc)) = &c.cache_props {
        dev = dev.with("write-cache", if *wc { "on" } else { "off" });
    }
    if let Some(s) = &d.serial {
        dev = dev.with("serial", s);
    }
    a.json("-device", &dev);
    Ok(())
}

/// The checks on one disk that do not depend on the machine.
fn check(d: &Disk) -> Result<Checked<'_>> {
    let name = d.target_dev.as_str();
    let bus = d.bus();
    let idx = target_index(name).ok_or_else(|| {
        Error::xml(format!(
            "disk '{name}': not a disk target name (use hda, sdb, vdc, ...)"
        ))
    })?;
    if let Some(dn) = d.driver_name.as_deref() {
        if dn != "qemu" {
            return Err(Error::unsupported(format!(
                "disk '{name}': <driver name='{dn}'> is not supported; use name='qemu'"
            )));
        }
    }
    let format = d.driver_type.as_deref().unwrap_or("raw");
    if !FORMATS.contains(&format) {
        return Err(Error::unsupported(format!(
            "disk '{name}': <driver type='{format}'> is not a supported image format ({})",
            FORMATS.join(", ")
        )));
    }
    if d.device == DiskDevice::Floppy || matches!(bus, DiskBus::Fdc | DiskBus::Usb) {
        return Err(Error::unsupported(format!(
            "disk '{name}': {} disks are not supported yet; use bus 'ide', 'sata', 'scsi' or 'virtio'",
            if d.device == DiskDevice::Floppy { "floppy".to_string() } else { format!("bus '{}'", bus.as_str()) }
        )));
    }
    if d.source.is_none() && d.device != DiskDevice::Cdrom {
        return Err(Error::xml(format!(
            "disk '{name}': has no <source>; only a cdrom may be empty"
        )));
    }
    if d.readonly && d.device == DiskDevice::Disk && matches!(bus, DiskBus::Ide | DiskBus::Sata) {
        return Err(Error::unsupported(format!(
            "disk '{name}': read-only disks are not supported on bus '{}' (QEMU's ide-hd cannot be read-only); use bus 'virtio' or 'scsi', or device='cdrom'",
            bus.as_str()
        )));
    }
    let cdrom = d.device == DiskDevice::Cdrom;
    if cdrom && bus == DiskBus::Virtio {
        return Err(Error::unsupported(format!(
            "disk '{name}': a cdrom cannot be on bus 'virtio'; use 'ide', 'sata' or 'scsi'"
        )));
    }
    // libvirt treats an unspecified cache mode on a shareable disk as cache='none'.
    let cache = match d.driver_cache.as_deref() {
        Some(c) => Some(c),
        None if d.shareable => Some("none"),
        None => None,
    };
    let cache_props = match cache {
        None | Some("default") => None,
        Some(c) => Some(cache_mode(name, c)?),
    };
    Ok(Checked {
        name,
        bus,
        idx,
        format,
        cdrom,
        readonly: d.readonly || cdrom,
        cache,
        cache_props,
    })
}

/// The storage and format `-blockdev` nodes; returns the format node's name.
fn blockdev(d: &Disk, c: &Checked<'_>, src: &str, node: usize, a: &mut Args) -> String {
    let storage_name = format!("libvirt-{node}-storage");
    let format_name = format!("libvirt-{node}-format");
    let driver = match (d.disk_type, c.cdrom) {
        (DiskType::File, _) => "file",
        (DiskType::Block, false) => "host_device",
        (DiskType::Block, true) => "host_cdrom",
    };
    let cache = c.cache_props.as_ref().map(|(p, _)| p.clone());
    let st = Props::new()
        .with("driver", driver)
        .with("filename", src)
        .with("node-name", storage_name.as_str())
        .with_opt("cache", cache.clone())
        .with("auto-read-only", true)
        .with("discard", "unmap");
    a.json("-blockdev", &st);
    let fm = Props::new()
        .with("node-name", format_name.as_str())
        .with("read-only", c.readonly)
        .with_opt("cache", cache)
        .with("driver", c.format)
        .with("file", storage_name);
    a.json("-blockdev", &fm);
    format_name
}

/// The pre-`blockdev` spelling: `-drive [file=..,format=..,]if=none,id=drive-ID`.
fn legacy_drive(d: &Disk, c: &Checked<'_>, id: &str) -> Props {
    Props::new()
        .with_opt("file", d.source.as_deref())
        .with_opt("format", d.source.as_ref().map(|_| c.format))
        .with("if", "none")
        .with("id", format!("drive-{id}"))
        .with_opt("readonly", c.readonly.then_some(true))
        .with_opt("cache", c.cache.filter(|m| *m != "default"))
}

/// The device id and the bus part of the `-device` properties.
fn frontend(p: &Plan<'_>, c: &Checked<'_>) -> Result<(String, Props)> {
    let (name, idx, cdrom) = (c.name, c.idx, c.cdrom);
    let ide_driver = if cdrom { "ide-cd" } else { "ide-hd" };
    Ok(match c.bus {
        DiskBus::Ide => {
            if p.q35 {
                return Err(Error::unsupported(format!(
                    "disk '{name}': the q35 machine has no IDE bus; use <target bus='sata'>"
                )));
            }
            if idx > 3 {
                return Err(Error::unsupported(format!(
                    "disk '{name}': target bus 'ide' supports at most 4 disks (hda..hdd)"
                )));
            }
            let (b, u) = (idx / 2, idx % 2);
            let dev = Props::new()
                .with("driver", ide_driver)
                .with("bus", format!("ide.{b}"))
                .with("unit", u);
            (format!("ide0-{b}-{u}"), dev)
        }
        DiskBus::Sata => {
            if idx > 5 {
                return Err(Error::unsupported(format!(
                    "disk '{name}': target bus 'sata' supports at most 6 disks (sda..sdf)"
                )));
            }
            let bus = if p.q35 {
                format!("ide.{idx}")
            } else {
                format!("sata0.{idx}")
            };
            let dev = Props::new().with("driver", ide_driver).with("bus", bus);
            (format!("sata0-0-{idx}"), dev)
        }
        DiskBus::Scsi => {
            let id = format!("scsi0-0-0-{idx}");
            let dev = Props::new()
                .with("driver", if cdrom { "scsi-cd" } else { "scsi-hd" })
                .with("bus", "scsi0.0")
                .with("channel", 0u32)
                .with("scsi-id", 0u32)
                .with("lun", idx)
                .with("device_id", format!("drive-{id}"));
            (id, dev)
        }
        DiskBus::Virtio => (
            format!("virtio-disk{idx}"),
            Props::new().with("driver", "virtio-blk-pci"),
        ),
        DiskBus::Fdc | DiskBus::Usb => unreachable!("refused by check()"),
    })
}

/// `cache=` mode → (blockdev `cache` object, device `write-cache` on?).
fn cache_mode(name: &str, mode: &str) -> Result<(Props, bool)> {
    let (direct, no_flush, wc) = match mode {
        "none" => (true, false, true),
        "writethrough" => (false, false, false),
        "writeback" => (false, false, true),
        "directsync" => (true, false, false),
        "unsafe" => (false, true, true),
        other => {
            return Err(Error::xml(format!(
                "disk '{name}': unknown cache mode '{other}' (none, writethrough, writeback, directsync, unsafe)"
            )))
        }
    };
    Ok((
        Props::new()
            .with("direct", direct)
            .with("no-flush", no_flush),
        wc,
    ))
}
