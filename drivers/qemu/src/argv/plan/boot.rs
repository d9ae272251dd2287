//! libvirt's disk order and the `bootindex` of each disk and interface.
//!
//! Disks are ordered as libvirt's `virDomainDiskInsert` orders them: grouped by bus
//! in order of first appearance, then by target index. The disk builder numbers its
//! `-blockdev` nodes in that order, and `<boot dev>` picks the first disk of a kind in
//! it, so both read the order from here.

use oxvirt_core::domain::{BootDev, Disk, DiskDevice, Domain};
use oxvirt_core::{Error, Result};

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
pub fn disk_order(disks: &[Disk]) -> Vec<usize> {
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

/// `bootindex` per disk and interface (by position in `devices`).
#[derive(Debug, Default)]
pub(crate) struct BootIndexes {
    pub disks: Vec<Option<u32>>,
    pub interfaces: Vec<Option<u32>>,
}

/// libvirt 9 turns `<os><boot dev=..>` into `bootindex` on the first device of each
/// kind (index = position in the `<boot>` list), rather than `-boot order=`; per-device
/// `<boot order>` is used as is. The two cannot be mixed. No boot element at all
/// means `<boot dev='hd'/>`, so the first disk gets `bootindex` 1. `order` is
/// [`disk_order`] of the domain's disks.
pub(crate) fn boot_indexes(dom: &Domain, order: &[usize]) -> Result<BootIndexes> {
    let d = &dom.devices;
    let mut b = BootIndexes {
        disks: d.disks.iter().map(|x| x.boot_order).collect(),
        interfaces: d.interfaces.iter().map(|x| x.boot_order).collect(),
    };
    let per_device = b.disks.iter().chain(&b.interfaces).any(Option::is_some);
    if per_device && !dom.os.boot.is_empty() {
        return Err(Error::xml(
            "per-device <boot order> cannot be used together with <os><boot dev>; keep one of them",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for o in b.disks.iter().chain(&b.interfaces).flatten() {
        if !seen.insert(*o) {
            return Err(Error::xml(format!(
                "<boot order='{o}'> is used by two devices"
            )));
        }
    }
    // libvirt's parser makes a missing <boot> mean <boot dev='hd'/>.
    let default_boot = [BootDev::Hd];
    let boot_devs: &[BootDev] = if dom.os.boot.is_empty() && !per_device {
        &default_boot
    } else {
        &dom.os.boot
    };
    for (i, dev) in boot_devs.iter().enumerate() {
        let idx = i as u32 + 1;
        let want = match dev {
            BootDev::Hd => DiskDevice::Disk,
            BootDev::Cdrom => DiskDevice::Cdrom,
            BootDev::Fd => DiskDevice::Floppy,
            BootDev::Network => {
                if let Some(slot) = b.interfaces.first_mut() {
                    slot.get_or_insert(idx);
                }
                continue;
            }
        };
        if let Some(&n) = order.iter().find(|&&n| d.disks[n].device == want) {
            b.disks[n].get_or_insert(idx);
        }
    }
    Ok(b)
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
        let o: Vec<&str> = disk_order(&disks)
            .into_iter()
            .map(|i| disks[i].target_dev.as_str())
            .collect();
        assert_eq!(o, ["hda", "hdc", "vda", "vdb"]);
    }
}
