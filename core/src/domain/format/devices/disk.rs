//! The `disk` family: `<disk>`.

use super::common::{format_address, format_boot};
use crate::domain::format::seclabel::format_seclabel;
use crate::domain::format::writer::W;
use crate::domain::model::{Devices, Disk, DiskDevice, DiskType};

pub(super) fn format_disks(w: &mut W, d: &Devices) {
    for disk in &d.disks {
        format_disk(w, disk);
    }
}

fn format_disk(w: &mut W, disk: &Disk) {
    let (ty, src_attr) = match disk.disk_type {
        DiskType::File => ("file", "file"),
        DiskType::Block => ("block", "dev"),
    };
    let device = match disk.device {
        DiskDevice::Disk => "disk",
        DiskDevice::Cdrom => "cdrom",
        DiskDevice::Floppy => "floppy",
    };
    w.open(
        "disk",
        &[
            ("type", Some(ty.to_owned())),
            ("device", Some(device.to_owned())),
        ],
    );
    let driver = [
        ("name", disk.driver_name.clone()),
        ("type", disk.driver_type.clone()),
        ("cache", disk.driver_cache.clone()),
        ("discard", disk.driver_discard.clone()),
    ];
    if driver.iter().any(|(_, v)| v.is_some()) {
        w.empty("driver", &driver);
    }
    if disk.source.is_some() || !disk.seclabels.is_empty() {
        let attrs = [(src_attr, disk.source.clone())];
        w.element("source", &attrs, disk.seclabels.is_empty(), |w| {
            for s in &disk.seclabels {
                format_seclabel(w, s, false);
            }
        });
    }
    w.empty(
        "target",
        &[
            ("dev", Some(disk.target_dev.clone())),
            ("bus", disk.target_bus.map(|b| b.as_str().to_owned())),
        ],
    );
    format_boot(w, disk.boot_order);
    if disk.readonly {
        w.empty("readonly", &[]);
    }
    if disk.shareable {
        w.empty("shareable", &[]);
    }
    if let Some(s) = &disk.serial {
        w.text_el("serial", &[], s);
    }
    format_address(w, &disk.address);
    w.close("disk");
}
