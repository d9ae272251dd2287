//! Domain fixtures shared by the argv golden tests and the real-QEMU tests, modelled
//! on libvirt's `tests/qemuxml2argvdata` cases. Built in Rust (not parsed from XML) so
//! the tests do not depend on the XML parser. `dir` is where disk images, kernels and
//! chardev files live.
#![allow(dead_code)]

use oxvirt_core::domain::*;
use uuid::Uuid;

pub fn base(name: &str, uuid: &str) -> Domain {
    Domain {
        virt_type: VirtType::Qemu,
        name: name.into(),
        uuid: Uuid::parse_str(uuid).unwrap(),
        memory_kib: 128 * 1024,
        os: Os {
            os_type: "hvm".into(),
            arch: Some("x86_64".into()),
            machine: Some("pc".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

pub fn file_disk(src: &str, target: &str, bus: Option<DiskBus>) -> Disk {
    Disk {
        source: Some(src.into()),
        target_dev: target.into(),
        target_bus: bus,
        driver_name: Some("qemu".into()),
        driver_type: Some("raw".into()),
        ..Default::default()
    }
}

pub fn cdrom(src: Option<&str>, target: &str, bus: Option<DiskBus>) -> Disk {
    Disk {
        device: DiskDevice::Cdrom,
        source: src.map(Into::into),
        target_dev: target.into(),
        target_bus: bus,
        readonly: true,
        ..Default::default()
    }
}

pub fn chardev(source: ChardevSource) -> Chardev {
    Chardev {
        source,
        target_type: None,
        target_port: None,
        target_name: None,
        log_file: None,
        address: None,
        ..Default::default()
    }
}

pub fn vnc(port: Option<i32>) -> Graphics {
    Graphics {
        graphics_type: "vnc".into(),
        port,
        autoport: None,
        listen: None,
        keymap: None,
        passwd: None,
        ..Default::default()
    }
}

pub fn user_nic(mac: &str, model: Option<&str>) -> Interface {
    Interface {
        iface_type: InterfaceType::User,
        mac: Some(mac.into()),
        model: model.map(Into::into),
        boot_order: None,
        address: None,
    }
}

/// Case 1: The smallest guest: TCG, 128 MiB, one vCPU, no devices, no `<acpi/>`.
pub fn minimal(_dir: &str) -> Domain {
    base("minimal", "c7a5fdbd-edaf-9455-926a-d65c16db1809")
}

/// Case 2: A KVM guest with host-passthrough CPU, ACPI and a virtio disk.
pub fn kvm(dir: &str) -> Domain {
    let mut d = base("kvmguest", "4dea24b3-1d52-d8f3-2516-782e98a23fa0");
    d.virt_type = VirtType::Kvm;
    d.vcpu.count = 2;
    d.features.acpi = true;
    d.features.apic = true;
    d.cpu = Some(Cpu {
        mode: Some("host-passthrough".into()),
        ..Default::default()
    });
    d.devices.disks.push(file_disk(
        &format!("{dir}/kvm.img"),
        "vda",
        Some(DiskBus::Virtio),
    ));
    d
}

/// Case 3: Direct kernel boot with a file serial port (+ log) and its console twin.
pub fn kernel_boot(dir: &str) -> Domain {
    let mut d = base("kernelboot", "5a5b6c7d-0000-4000-8000-000000000003");
    d.features.acpi = true;
    d.os.kernel = Some(format!("{dir}/vmlinuz"));
    d.os.initrd = Some(format!("{dir}/initrd.img"));
    d.os.cmdline = Some("console=ttyS0 root=/dev/vda quiet".into());
    let mut s = chardev(ChardevSource::File {
        path: format!("{dir}/serial.log"),
        append: Some(true),
    });
    s.target_port = Some(0);
    s.log_file = Some(format!("{dir}/serial-copy.log"));
    d.devices.serials.push(s.clone());
    s.target_type = Some("serial".into());
    s.log_file = None;
    d.devices.consoles.push(s);
    d
}

/// Case 4: The example of the QEMU driver page: cdrom hdc + disk hda, a network interface,
/// autoport VNC with a keymap; boots from cdrom.
pub fn seed_example1(dir: &str) -> Domain {
    let mut d = base("QEmu-fedora-i686", "c7a5fdbd-cdaf-9455-926a-d65c16db1809");
    d.memory_kib = 219200;
    d.current_memory_kib = Some(219200);
    d.vcpu.count = 2;
    d.os.boot = vec![BootDev::Cdrom];
    d.devices.emulator = Some("/usr/bin/qemu-system-x86_64".into());
    let mut hdc = cdrom(Some(&format!("{dir}/boot.iso")), "hdc", None);
    hdc.driver_name = None;
    d.devices.disks.push(hdc);
    let mut hda = file_disk(&format!("{dir}/fedora.img"), "hda", None);
    hda.driver_name = None;
    hda.driver_type = None;
    d.devices.disks.push(hda);
    d.devices.interfaces.push(Interface {
        iface_type: InterfaceType::Network("default".into()),
        mac: Some("52:54:00:11:22:33".into()),
        model: None,
        boot_order: None,
        address: None,
    });
    let mut g = vnc(Some(-1));
    g.keymap = Some("de".into());
    d.devices.graphics.push(g);
    d
}

/// Case 5: Virtio disks (raw + qcow2 with cache='none') and a NIC with per-device boot order.
pub fn virtio_boot_order(dir: &str) -> Domain {
    let mut d = base("bootorder", "5a5b6c7d-0000-4000-8000-000000000005");
    d.features.acpi = true;
    let mut a = file_disk(&format!("{dir}/data.img"), "vdb", Some(DiskBus::Virtio));
    a.boot_order = Some(2);
    let mut b = file_disk(&format!("{dir}/root.qcow2"), "vda", Some(DiskBus::Virtio));
    b.driver_type = Some("qcow2".into());
    b.driver_cache = Some("none".into());
    b.boot_order = Some(1);
    b.serial = Some("ROOT-1".into());
    d.devices.disks = vec![a, b];
    let mut n = user_nic("52:54:00:00:00:05", Some("virtio"));
    n.boot_order = Some(3);
    d.devices.interfaces.push(n);
    d
}

/// Case 6: A read-only virtio disk and a shareable SCSI disk.
pub fn readonly_shareable(dir: &str) -> Domain {
    let mut d = base("roshare", "5a5b6c7d-0000-4000-8000-000000000006");
    d.features.acpi = true;
    let mut ro = file_disk(&format!("{dir}/ro.img"), "vda", Some(DiskBus::Virtio));
    ro.readonly = true;
    let mut sh = file_disk(&format!("{dir}/shared.img"), "sda", Some(DiskBus::Scsi));
    sh.shareable = true;
    d.devices.disks = vec![ro, sh];
    d
}

/// Case 7: A q35 guest with a SATA disk and an empty SATA cdrom.
pub fn sata_q35(dir: &str) -> Domain {
    let mut d = base("sataq35", "5a5b6c7d-0000-4000-8000-000000000007");
    d.features.acpi = true;
    d.os.machine = Some("q35".into());
    d.devices.disks = vec![
        file_disk(&format!("{dir}/sata.img"), "sda", Some(DiskBus::Sata)),
        cdrom(None, "sdb", Some(DiskBus::Sata)),
    ];
    d
}

/// Case 8: SCSI disk + SCSI cdrom on an explicit virtio-scsi controller; boots from cdrom.
pub fn scsi(dir: &str) -> Domain {
    let mut d = base("scsiguest", "5a5b6c7d-0000-4000-8000-000000000008");
    d.features.acpi = true;
    d.os.boot = vec![BootDev::Cdrom, BootDev::Hd];
    d.devices.controllers.push(Controller {
        controller_type: "scsi".into(),
        index: Some(0),
        model: Some("virtio-scsi".into()),
        ..Default::default()
    });
    d.devices.disks = vec![
        file_disk(&format!("{dir}/scsi.img"), "sda", None),
        cdrom(Some(&format!("{dir}/scsi.iso")), "sdb", None),
    ];
    d
}

/// Case 9: User-mode networking with a virtio NIC and one with the default model.
pub fn user_net(_dir: &str) -> Domain {
    let mut d = base("usernet", "5a5b6c7d-0000-4000-8000-000000000009");
    d.features.acpi = true;
    d.devices.interfaces = vec![
        user_nic("52:54:00:12:34:56", Some("virtio")),
        user_nic("52:54:00:12:34:57", None),
    ];
    d
}

/// Case 10: USB tablet + VNC on a fixed port with password and listen address + vga video.
pub fn usb_tablet_vnc(_dir: &str) -> Domain {
    let mut d = base("tabletvnc", "5a5b6c7d-0000-4000-8000-000000000010");
    d.features.acpi = true;
    d.devices.inputs = vec![
        Input {
            input_type: "tablet".into(),
            bus: Some("usb".into()),
            ..Default::default()
        },
        Input {
            input_type: "mouse".into(),
            bus: Some("ps2".into()),
            ..Default::default()
        },
    ];
    let mut g = vnc(Some(5905));
    g.listen = Some("0.0.0.0".into());
    g.passwd = Some("secret".into());
    g.autoport = Some(false);
    d.devices.graphics.push(g);
    d.devices.videos.push(Video {
        model: "vga".into(),
        vram: Some(16384),
        heads: Some(1),
        primary: Some(true),
        ..Default::default()
    });
    d
}

/// Case 11: A virtio RNG from /dev/urandom and no memory balloon.
pub fn rng_no_balloon(_dir: &str) -> Domain {
    let mut d = base("rngguest", "5a5b6c7d-0000-4000-8000-000000000011");
    d.features.acpi = true;
    d.devices.memballoon = Some(Memballoon {
        model: "none".into(),
        ..Default::default()
    });
    d.devices.rngs.push(Rng {
        model: "virtio".into(),
        backend_model: "random".into(),
        backend_dev: Some("/dev/urandom".into()),
        ..Default::default()
    });
    d
}

/// Case 12: `<qemu:commandline>` arguments and environment.
pub fn qemu_commandline(_dir: &str) -> Domain {
    let mut d = base("cmdline", "5a5b6c7d-0000-4000-8000-000000000012");
    d.features.acpi = true;
    d.qemu_commandline = Some(QemuCommandline {
        args: vec![
            "-global".into(),
            "kvm-pit.lost_tick_policy=delay".into(),
            "-fw_cfg".into(),
            "name=opt/x,string=a b".into(),
        ],
        env: vec![
            ("QEMU_AUDIO_DRV".into(), Some("none".into())),
            ("EMPTY".into(), None),
        ],
    });
    d.qemu_capabilities = Some(QemuCapabilities {
        add: vec!["blockdev".into()],
        del: vec![],
    });
    d
}

/// Case 13: Local-time RTC with catch-up tick policy, 2 of 4 vCPUs online, 1 GiB minus 1 KiB.
pub fn localtime(_dir: &str) -> Domain {
    let mut d = base("localtime", "5a5b6c7d-0000-4000-8000-000000000013");
    d.features.acpi = true;
    d.memory_kib = 1024 * 1024 - 1;
    d.vcpu = Vcpu {
        count: 4,
        current: Some(2),
        placement: Some("static".into()),
    };
    d.clock = Some(Clock {
        timers: vec![Timer {
            name: "rtc".into(),
            tickpolicy: Some("catchup".into()),
            ..Timer::default()
        }],
        ..Clock::new(ClockOffset::Localtime)
    });
    d
}

/// Case 14: Chardevs: pty serial + console, unix serial, guest-agent channel, virtio console.
pub fn chardevs(dir: &str) -> Domain {
    let mut d = base("chardevs", "5a5b6c7d-0000-4000-8000-000000000014");
    d.features.acpi = true;
    let mut s0 = chardev(ChardevSource::Pty);
    s0.target_port = Some(0);
    let mut s1 = chardev(ChardevSource::Unix {
        path: format!("{dir}/serial1.sock"),
        mode: UnixMode::Bind,
    });
    s1.target_port = Some(1);
    let mut s2 = chardev(ChardevSource::Null);
    s2.target_port = Some(2);
    d.devices.serials = vec![s0.clone(), s1, s2];
    let mut con = s0;
    con.target_type = Some("serial".into());
    let mut vcon = chardev(ChardevSource::Pty);
    vcon.target_type = Some("virtio".into());
    vcon.target_port = Some(1);
    d.devices.consoles = vec![con, vcon];
    let mut ga = chardev(ChardevSource::Unix {
        path: format!("{dir}/ga.sock"),
        mode: UnixMode::Bind,
    });
    ga.target_type = Some("virtio".into());
    ga.target_name = Some("org.qemu.guest_agent.0".into());
    d.devices.channels.push(ga);
    d
}

/// Case 15: IDE disks on all four positions of a pc guest, booting from hd then cdrom.
pub fn ide_full(dir: &str) -> Domain {
    let mut d = base("idefull", "5a5b6c7d-0000-4000-8000-000000000015");
    d.features.acpi = true;
    d.os.boot = vec![BootDev::Hd, BootDev::Cdrom];
    d.devices.disks = vec![
        cdrom(None, "hdd", None),
        file_disk(&format!("{dir}/ide-b.img"), "hdb", None),
        file_disk(&format!("{dir}/ide-a.img"), "hda", None),
        cdrom(Some(&format!("{dir}/ide-c.iso")), "hdc", None),
    ];
    d
}

/// Case 16: q35 direct kernel boot with a virtio disk, an empty SCSI cdrom, an e1000
/// user NIC, a console with no serial (becomes serial 0) and autoport VNC. Checked
/// against libvirt 9.0's domxml-to-native: same lines except PCI addresses, machine
/// alias, acpi and the tap placeholder libvirt prints for every interface.
pub fn kernel_q35_console_only(dir: &str) -> Domain {
    let mut d = base("kb", "5a5b6c7d-0000-4000-8000-000000000099");
    d.os.machine = Some("q35".into());
    d.os.kernel = Some(format!("{dir}/vmlinuz"));
    d.os.initrd = Some(format!("{dir}/initrd.img"));
    d.os.cmdline = Some("console=ttyS0".into());
    let mut vda = file_disk(&format!("{dir}/disk.img"), "vda", Some(DiskBus::Virtio));
    vda.driver_name = None;
    vda.driver_type = None;
    d.devices.disks = vec![vda, cdrom(None, "sdc", Some(DiskBus::Scsi))];
    d.devices.controllers.push(Controller {
        controller_type: "scsi".into(),
        model: Some("virtio-scsi".into()),
        ..Default::default()
    });
    d.devices
        .interfaces
        .push(user_nic("52:54:00:00:00:09", Some("e1000")));
    d.devices.consoles.push(chardev(ChardevSource::Pty));
    let mut g = vnc(None);
    g.autoport = Some(true);
    d.devices.graphics.push(g);
    d
}
