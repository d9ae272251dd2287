//! The argv builder under probed capabilities (machine aliases, accelerators, device
//! syntax, `<qemu:capabilities>`) and `domxml-from-native` against the seed example.
//! No QEMU is run here; `tests/tests/qemu_passthrough.rs` runs the results.

mod common;

use common::*;
use oxvirt_core::domain::*;
use oxvirt_driver_qemu::argv::{build_with_caps, ArgvContext, QemuCaps};
use oxvirt_driver_qemu::caps::MachineType;
use oxvirt_driver_qemu::native::from_argv_line;
use std::path::Path;

fn caps() -> QemuCaps {
    let mut c = QemuCaps::assumed();
    c.binary = "/usr/bin/qemu-system-x86_64".into();
    c.machines = vec![
        MachineType {
            name: "pc-i440fx-7.2".into(),
            alias: Some("pc".into()),
            is_default: true,
            cpu_max: 255,
            deprecated: false,
        },
        MachineType {
            name: "pc-q35-7.2".into(),
            alias: Some("q35".into()),
            is_default: false,
            cpu_max: 288,
            deprecated: false,
        },
    ];
    c
}

fn ctx() -> ArgvContext<'static> {
    ArgvContext {
        emulator: Path::new("/usr/bin/qemu-system-x86_64"),
        monitor_socket: Path::new("/r/run/qemu/domain-1-x/monitor.sock"),
        domain_dir: Path::new("/r/lib/qemu/domain-1-x"),
        for_native_export: true,
        seccomp_sandbox: -1,
        vnc_listen: "127.0.0.1",
    }
}

fn dom_with_disk() -> Domain {
    let mut d = base("x", "c7a5fdbd-edaf-9455-926a-d65c16db1809");
    d.devices
        .disks
        .push(file_disk("/img/a.raw", "vda", Some(DiskBus::Virtio)));
    d
}

#[test]
fn machine_alias_resolves_to_the_canonical_machine() {
    let mut d = dom_with_disk();
    let cmd = build_with_caps(&d, &ctx(), &caps()).unwrap();
    assert!(cmd
        .option("-machine")
        .unwrap()
        .starts_with("pc-i440fx-7.2,"));
    d.os.machine = Some("q35".into());
    let cmd = build_with_caps(&d, &ctx(), &caps()).unwrap();
    assert!(cmd.option("-machine").unwrap().starts_with("pc-q35-7.2,"));
    d.os.machine = None;
    let cmd = build_with_caps(&d, &ctx(), &caps()).unwrap();
    assert!(cmd
        .option("-machine")
        .unwrap()
        .starts_with("pc-i440fx-7.2,"));
    d.os.machine = Some("pc-q35-99".into());
    let e = build_with_caps(&d, &ctx(), &caps()).unwrap_err();
    assert!(
        e.message
            .contains("does not support machine type 'pc-q35-99'"),
        "{}",
        e.message
    );
}

#[test]
fn kvm_domain_without_usable_kvm_is_a_clear_error() {
    let mut d = dom_with_disk();
    d.virt_type = VirtType::Kvm;
    let mut c = caps();
    assert_eq!(
        build_with_caps(&d, &ctx(), &c).unwrap().option("-accel"),
        Some("kvm")
    );
    c.kvm_usable = false;
    let e = build_with_caps(&d, &ctx(), &c).unwrap_err();
    assert!(
        e.message
            .contains("Domain requires KVM, but it is not available"),
        "{}",
        e.message
    );
    d.virt_type = VirtType::Qemu;
    assert_eq!(
        build_with_caps(&d, &ctx(), &c).unwrap().option("-accel"),
        Some("tcg")
    );
}

#[test]
fn qemu_capabilities_del_changes_device_and_disk_syntax() {
    let mut d = dom_with_disk();
    let json = build_with_caps(&d, &ctx(), &caps()).unwrap();
    assert!(json.args.iter().any(|a| a == "-blockdev"));
    assert!(json
        .args
        .iter()
        .any(|a| a.starts_with("{\"driver\":\"virtio-blk-pci\"")));
    d.qemu_capabilities = Some(QemuCapabilities {
        add: vec![],
        del: vec!["blockdev".into(), "device.json".into()],
    });
    let old = build_with_caps(&d, &ctx(), &caps()).unwrap();
    assert!(!old.args.iter().any(|a| a == "-blockdev"));
    assert_eq!(
        old.option("-drive"),
        Some("file=/img/a.raw,format=raw,if=none,id=drive-virtio-disk0")
    );
    assert!(
        old.args
            .iter()
            .any(|a| a.starts_with("virtio-blk-pci,drive=drive-virtio-disk0,id=virtio-disk0")),
        "{:?}",
        old.args
    );
    // add puts a flag back.
    d.qemu_capabilities = Some(QemuCapabilities {
        add: vec!["blockdev".into()],
        del: vec!["drive".into()],
    });
    let mut c = caps();
    c.flags.remove("blockdev");
    assert!(build_with_caps(&d, &ctx(), &c)
        .unwrap()
        .args
        .iter()
        .any(|a| a == "-blockdev"));
}

#[test]
fn a_device_type_qemu_lacks_is_refused() {
    let d = dom_with_disk();
    let mut c = caps();
    c.device_types = ["piix3-usb-uhci", "virtio-balloon-pci"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let e = build_with_caps(&d, &ctx(), &c).unwrap_err();
    assert!(
        e.message.contains("no device type 'virtio-blk-pci'"),
        "{}",
        e.message
    );
}

/// The seed's `domxml-from-native` example (drvqemu-0.7.1), as one line.
pub const SEED_ARGS: &str = "LC_ALL=C PATH=/bin HOME=/home/test USER=test \\\nLOGNAME=test /usr/bin/qemu -S -M pc -m 214 -smp 1 \\\n-nographic -monitor pty -no-acpi -boot c -hda \\\n/dev/HostVG/QEMUGuest1 -net none -serial none \\\n-parallel none -usb\n";

/// The domain the seed shows for it (a name added so that our parser accepts it).
const SEED_XML: &str = "<domain type='qemu'>
  <name>SEED</name>
  <uuid>00000000-0000-0000-0000-000000000000</uuid>
  <memory>219136</memory>
  <currentMemory>219136</currentMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch='i686' machine='pc'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu</emulator>
    <disk type='block' device='disk'>
      <source dev='/dev/HostVG/QEMUGuest1'/>
      <target dev='hda' bus='ide'/>
    </disk>
  </devices>
</domain>";

#[test]
fn from_native_of_the_seed_example_is_the_seed_domain() {
    let (mut got, warnings) = from_argv_line(SEED_ARGS).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let mut want = parse_domain_xml(SEED_XML).unwrap();
    assert_eq!(got.name, "");
    got.name = want.name.clone();
    // The seed's XML has no <features>: ACPI off, as -no-acpi says.
    want.features.acpi = false;
    assert_eq!(got, want);
}

#[test]
fn from_native_keeps_what_it_does_not_understand() {
    let line = "LC_ALL=C QEMU_AUDIO_DRV=none FOO='a b' /usr/bin/qemu-system-x86_64 -name guest=g1,debug-threads=on \
                -uuid c7a5fdbd-edaf-9455-926a-d65c16db1809 -machine pc-q35-7.2,accel=kvm,usb=off -m size=256M \
                -smp 2,maxcpus=4 -drive file=/img/a.qcow2,if=virtio,format=qcow2 -cdrom /img/b.iso -boot order=dc,menu=on \
                -kernel /k -initrd /i -append 'console=ttyS0 quiet' -net nic,model=virtio,macaddr=52:54:00:00:00:01 -net user \
                -vnc 127.0.0.1:3 -serial pty -rtc base=localtime -no-reboot -global kvm-pit.lost_tick_policy=delay -newflag";
    let (d, w) = from_argv_line(line).unwrap();
    assert_eq!(d.name, "g1");
    assert_eq!(d.virt_type, VirtType::Kvm);
    assert_eq!(d.os.machine.as_deref(), Some("pc-q35-7.2"));
    assert_eq!(d.memory_kib, 256 * 1024);
    assert_eq!((d.vcpu.count, d.vcpu.current), (4, Some(2)));
    assert_eq!(d.devices.disks.len(), 2);
    assert_eq!(d.devices.disks[0].target_dev, "vda");
    assert_eq!(d.devices.disks[0].driver_type.as_deref(), Some("qcow2"));
    assert_eq!(d.devices.disks[1].device, DiskDevice::Cdrom);
    assert_eq!(d.os.boot, vec![BootDev::Cdrom, BootDev::Hd]);
    assert_eq!(d.os.cmdline.as_deref(), Some("console=ttyS0 quiet"));
    assert_eq!(d.devices.interfaces.len(), 1);
    assert_eq!(d.devices.interfaces[0].model.as_deref(), Some("virtio"));
    assert_eq!(d.devices.graphics[0].port, Some(5903));
    assert_eq!(d.devices.serials.len(), 1);
    assert_eq!(d.on_reboot, Some(LifecycleAction::Destroy));
    let cl = d.qemu_commandline.as_ref().unwrap();
    assert_eq!(
        cl.args,
        vec!["-global", "kvm-pit.lost_tick_policy=delay", "-newflag"]
    );
    assert_eq!(cl.env, vec![("FOO".to_string(), Some("a b".to_string()))]);
    assert_eq!(w.len(), 2, "{w:?}");
    // The result is a valid domain: format, parse, same model.
    let xml = format_domain_xml(&d, FormatOptions::default());
    assert_eq!(parse_domain_xml(&xml).unwrap(), d);
}
