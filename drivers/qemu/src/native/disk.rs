//! Disks: `-hda`..`-hdd F` (IDE `hda`..`hdd`), `-cdrom F` (IDE cdrom `hdc`,
//! read-only), `-drive file=,if=ide|scsi|virtio|floppy,index=,media=cdrom,format=,
//! cache=,readonly=` (a disk on that bus: `hdX`/`sdX`/`vdX`/`fdX`; `if=none` and other
//! interfaces are kept). A path under `/dev/` is a `type='block'` disk. `boot=on` is
//! ignored: the boot order comes from `-boot`.

use super::state::State;
use super::value::{get, kv};
use oxvirt_core::domain::{Disk, DiskBus, DiskDevice, DiskType};
use oxvirt_core::Result;

fn disk_for(path: &str, target: String, bus: DiskBus, device: DiskDevice) -> Disk {
    Disk {
        disk_type: if path.starts_with("/dev/") {
            DiskType::Block
        } else {
            DiskType::File
        },
        device,
        source: (!path.is_empty()).then(|| path.to_string()),
        target_dev: target,
        target_bus: Some(bus),
        readonly: device == DiskDevice::Cdrom,
        ..Disk::default()
    }
}

fn target_name(bus: DiskBus, index: u32) -> String {
    let prefix = match bus {
        DiskBus::Ide => "hd",
        DiskBus::Virtio => "vd",
        DiskBus::Fdc => "fd",
        _ => "sd",
    };
    format!("{prefix}{}", (b'a' + index.min(25) as u8) as char)
}

/// `-hda`, `-hdb`, `-hdc`, `-hdd`.
pub(crate) fn hdx(st: &mut State, opt: &str, v: &str) -> Result<bool> {
    let idx = u32::from(opt.as_bytes()[3] - b'a');
    st.dom.devices.disks.push(disk_for(
        v,
        target_name(DiskBus::Ide, idx),
        DiskBus::Ide,
        DiskDevice::Disk,
    ));
    Ok(true)
}

/// `-cdrom`.
pub(crate) fn cdrom(st: &mut State, _: &str, v: &str) -> Result<bool> {
    st.dom
        .devices
        .disks
        .push(disk_for(v, "hdc".into(), DiskBus::Ide, DiskDevice::Cdrom));
    Ok(true)
}

/// `-drive`.
pub(crate) fn drive(st: &mut State, _: &str, v: &str) -> Result<bool> {
    let kvs = kv(v);
    let bus = match get(&kvs, "if").unwrap_or("ide") {
        "ide" => DiskBus::Ide,
        "scsi" => DiskBus::Scsi,
        "virtio" => DiskBus::Virtio,
        "floppy" => DiskBus::Fdc,
        _ => return Ok(false),
    };
    let disks = &mut st.dom.devices.disks;
    let same_bus = disks.iter().filter(|d| d.target_bus == Some(bus)).count() as u32;
    let idx = get(&kvs, "index")
        .and_then(|x| x.parse().ok())
        .unwrap_or(same_bus);
    let device = match get(&kvs, "media") {
        Some("cdrom") => DiskDevice::Cdrom,
        _ if bus == DiskBus::Fdc => DiskDevice::Floppy,
        _ => DiskDevice::Disk,
    };
    let mut d = disk_for(
        get(&kvs, "file").unwrap_or(""),
        target_name(bus, idx),
        bus,
        device,
    );
    d.driver_type = get(&kvs, "format").map(str::to_string);
    if d.driver_type.is_some() {
        d.driver_name = Some("qemu".into());
    }
    d.driver_cache = get(&kvs, "cache").map(str::to_string);
    if matches!(get(&kvs, "readonly"), Some("on" | "yes" | "true")) {
        d.readonly = true;
    }
    disks.push(d);
    Ok(true)
}
