//! `<disk>` → `-blockdev` (storage node + format node) and `-device`, as libvirt 9.
//!
//! Disks are ordered as libvirt's `virDomainDiskInsert` orders them (grouped by bus in
//! order of first appearance, then by target index). Node names are
//! `libvirt-N-storage`/`libvirt-N-format` with N counted from the last disk (libvirt
//! walks the disk list backwards; an empty cdrom uses up its number too). Device ids:
//! `ide0-B-U`, `sata0-0-U`, `scsi0-0-0-U`, `virtio-diskN`. Floppy and USB disks are not
//! supported yet.

use super::props::{kv_escape, Props};
use super::{is_q35, Args};
use oxvirt_core::domain::{Disk, DiskBus, DiskDevice, DiskType, Domain};
use oxvirt_core::{Error, Result};

/// Formats the builder accepts for `<driver type=..>` (never probed: default raw).
const FORMATS: &[&str] = &["raw", "qcow2", "qed", "vmdk", "vpc", "vdi", "vhdx", "luks"];

/// Index of a target name within its bus: `hda` → 0, `vdb` → 1, `sdaa` → 26.
pub fn target_index(dev: &str) -> Option<u32> {
    let rest = ["xvd", "hd", "sd", "vd", "fd", "ubd"]
        .iter()
        .find_map(|p| dev.strip_prefix(p))?;
    if rest.is_empty() || !rest.bytes().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    let mut idx: u64 = 0;
    for (i, c) in rest.bytes().enumerate() {
        if i > 0 {
            idx += 1;
        }
        if i > 0 {
            idx *= 26;
        }
        idx += u64::from(c - b'a');
        if idx > u64::from(u32::MAX) {
            return None;
        }
    }
    u32::try_from(idx).ok()
}

/// Positions of `disks` in libvirt's order (`virDomainDiskInsert`).
pub fn sorted_order(disks: &[Disk]) -> Vec<usize> {
    let mut order: Vec<usize> = Vec::with_capacity(disks.len());
    for (n, disk) in disks.iter().enumerate() {
        let my = target_index(&disk.target_dev).unwrap_or(u32::MAX);
        let mut insert_at: Option<usize> = None;
        for (pos, &o) in order.iter().enumerate().rev() {
            let other = &disks[o];
            if other.bus() != disk.bus() {
                continue;
            }
            if target_index(&other.target_dev).unwrap_or(u32::MAX) > my {
                insert_at = Some(pos);
            } else if insert_at.is_none() {
                insert_at = Some(pos + 1);
            }
        }
        match insert_at {
            Some(p) => order.insert(p, n),
            None => order.push(n),
        }
    }
    order
}

/// Emit the disk arguments. `boot[i]` is the bootindex of `dom.devices.disks[i]`.
pub(crate) fn build(dom: &Domain, boot: &[Option<u32>], a: &mut Args) -> Result<()> {
    let disks = &dom.devices.disks;
    let mut seen = std::collections::HashSet::new();
    for d in disks {
        if !seen.insert(d.target_dev.as_str()) {
            return Err(Error::xml(format!(
                "disk '{}': target dev used by two disks; give each disk its own <target dev>",
                d.target_dev
            )));
        }
    }
    let order = sorted_order(disks);
    let total = order.len();
    for (pos, &n) in order.iter().enumerate() {
        let node = total - pos;
        disk(dom, &disks[n], node, boot[n], a)?;
    }
    Ok(())
}

fn disk(dom: &Domain, d: &Disk, node: usize, boot: Option<u32>, a: &mut Args) -> Result<()> {
    let name = &d.target_dev;
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
    let readonly = d.readonly || cdrom;

    let mut drive = None;
    let legacy = a.1.legacy_drive;
    if let (Some(src), false) = (&d.source, legacy) {
        let storage_name = format!("libvirt-{node}-storage");
        let format_name = format!("libvirt-{node}-format");
        let driver = match (d.disk_type, cdrom) {
            (DiskType::File, _) => "file",
            (DiskType::Block, false) => "host_device",
            (DiskType::Block, true) => "host_cdrom",
        };
        let mut st = Props::new()
            .with("driver", driver)
            .with("filename", src)
            .with("node-name", storage_name.as_str());
        if let Some((c, _)) = &cache_props {
            st = st.with("cache", c.clone());
        }
        st = st.with("auto-read-only", true).with("discard", "unmap");
        a.json("-blockdev", &st);
        let mut fm = Props::new()
            .with("node-name", format_name.as_str())
            .with("read-only", readonly);
        if let Some((c, _)) = &cache_props {
            fm = fm.with("cache", c.clone());
        }
        fm = fm.with("driver", format).with("file", storage_name);
        a.json("-blockdev", &fm);
        drive = Some(format_name);
    }

    let mut p;
    let id;
    match bus {
        DiskBus::Ide => {
            if is_q35(dom) {
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
            id = format!("ide0-{b}-{u}");
            p = Props::new()
                .with("driver", if cdrom { "ide-cd" } else { "ide-hd" })
                .with("bus", format!("ide.{b}"))
                .with("unit", u);
        }
        DiskBus::Sata => {
            if idx > 5 {
                return Err(Error::unsupported(format!(
                    "disk '{name}': target bus 'sata' supports at most 6 disks (sda..sdf)"
                )));
            }
            id = format!("sata0-0-{idx}");
            let busname = if is_q35(dom) {
                format!("ide.{idx}")
            } else {
                format!("sata0.{idx}")
            };
            p = Props::new()
                .with("driver", if cdrom { "ide-cd" } else { "ide-hd" })
                .with("bus", busname);
        }
        DiskBus::Scsi => {
            id = format!("scsi0-0-0-{idx}");
            p = Props::new()
                .with("driver", if cdrom { "scsi-cd" } else { "scsi-hd" })
                .with("bus", "scsi0.0")
                .with("channel", 0u32)
                .with("scsi-id", 0u32)
                .with("lun", idx)
                .with("device_id", format!("drive-{id}"));
        }
        DiskBus::Virtio => {
            id = format!("virtio-disk{idx}");
            p = Props::new().with("driver", "virtio-blk-pci");
        }
        DiskBus::Fdc | DiskBus::Usb => unreachable!("rejected above"),
    }
    if legacy {
        // Without `blockdev`: the pre-4.2 spelling, `-drive ...,if=none` + `drive=`.
        let mut dr = String::new();
        if let Some(src) = &d.source {
            dr.push_str(&format!("file={},format={format},", kv_escape(src)));
        }
        dr.push_str(&format!("if=none,id=drive-{id}"));
        if readonly {
            dr.push_str(",readonly=on");
        }
        if let Some(c) = cache {
            if c != "default" {
                dr.push_str(&format!(",cache={c}"));
            }
        }
        a.opt("-drive", dr);
        drive = Some(format!("drive-{id}"));
    }
    if d.shareable {
        p = p.with("share-rw", true);
    }
    p = p
        .with_opt("drive", drive)
        .with("id", id)
        .with_opt("bootindex", boot);
    if let Some((_, wc)) = &cache_props {
        p = p.with("write-cache", if *wc { "on" } else { "off" });
    }
    if let Some(s) = &d.serial {
        p = p.with("serial", s);
    }
    a.json("-device", &p);
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_indexes() {
        assert_eq!(target_index("hda"), Some(0));
        assert_eq!(target_index("hdd"), Some(3));
        assert_eq!(target_index("vdz"), Some(25));
        assert_eq!(target_index("sdaa"), Some(26));
        assert_eq!(target_index("sdab"), Some(27));
        assert_eq!(target_index("sda1"), None);
        assert_eq!(target_index("xyz"), None);
    }

    #[test]
    fn libvirt_disk_order() {
        let mk = |t: &str| Disk {
            target_dev: t.into(),
            source: Some("/x".into()),
            ..Default::default()
        };
        let disks = vec![mk("hdc"), mk("vdb"), mk("hda"), mk("vda")];
        let o: Vec<&str> = sorted_order(&disks)
            .into_iter()
            .map(|i| disks[i].target_dev.as_str())
            .collect();
        assert_eq!(o, ["hda", "hdc", "vda", "vdb"]);
    }
}
