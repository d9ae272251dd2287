//! Golden tests for the argv builder: domain → QEMU command line, one `insta` snapshot
//! per case (libvirt's `qemuxml2argvdata` idea), plus the error messages of refused
//! configurations. Snapshots list one option (with its value) per line; the first
//! lines are the environment and the binary.

mod common;

use common::*;
use oxvirt_core::domain::parse_domain_xml;
use oxvirt_core::domain::*;
use oxvirt_driver_qemu::argv::{build, ArgvContext, QemuCommand};
use std::path::Path;

const DIR: &str = "/var/lib/oxvirt/images";

fn ctx(native: bool) -> ArgvContext<'static> {
    ArgvContext {
        emulator: Path::new("/usr/bin/qemu-system-x86_64"),
        monitor_socket: Path::new("/run/oxvirt/qemu/domain-1-test/monitor.sock"),
        domain_dir: Path::new("/var/lib/oxvirt/qemu/domain-1-test"),
        for_native_export: native,
        seccomp_sandbox: -1,
        vnc_listen: "127.0.0.1",
    }
}

/// One line per option, values shell-quoted as in `to_shell_line`.
fn render(c: &QemuCommand) -> String {
    let line = c.to_shell_line();
    let mut out = String::new();
    // Environment words and the binary on their own lines, then one option per line.
    let mut first = true;
    for word in split_words(&line) {
        if word.starts_with('-') || first {
            if !first {
                out.push('\n');
            }
        } else {
            out.push(' ');
        }
        if first && word.contains('=') && !word.starts_with('/') {
            // environment words each on their own line
            out.push_str(&word);
            out.push('\n');
            continue;
        }
        first = false;
        out.push_str(&word);
    }
    out.push('\n');
    out
}

/// Split a shell line into words, keeping quotes (enough for our own output).
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_q = false;
    for ch in line.chars() {
        match ch {
            '\'' => {
                in_q = !in_q;
                cur.push(ch);
            }
            ' ' if !in_q => {
                words.push(std::mem::take(&mut cur));
            }
            _ => cur.push(ch),
        }
    }
    words.push(cur);
    words
}

fn golden(name: &str, dom: Domain, native: bool) {
    let cmd = build(&dom, &ctx(native)).unwrap_or_else(|e| panic!("{name}: {e}"));
    insta::assert_snapshot!(name, render(&cmd));
}

#[test]
fn minimal_tcg() {
    golden("minimal_tcg", minimal(DIR), false);
}
#[test]
fn kvm_guest() {
    golden("kvm_guest", kvm(DIR), false);
}
#[test]
fn kernel_boot_file_serial() {
    golden("kernel_boot_file_serial", kernel_boot(DIR), false);
}
#[test]
fn seed_example1_native() {
    golden("seed_example1_native", seed_example1(DIR), true);
}
#[test]
fn virtio_disks_boot_order() {
    golden("virtio_disks_boot_order", virtio_boot_order(DIR), false);
}
#[test]
fn readonly_and_shareable() {
    golden("readonly_and_shareable", readonly_shareable(DIR), false);
}
#[test]
fn sata_on_q35() {
    golden("sata_on_q35", sata_q35(DIR), false);
}
#[test]
fn scsi_disks() {
    golden("scsi_disks", scsi(DIR), false);
}
#[test]
fn user_net_virtio() {
    golden("user_net_virtio", user_net(DIR), false);
}
#[test]
fn usb_tablet_vnc_video() {
    golden("usb_tablet_vnc_video", usb_tablet_vnc(DIR), false);
}
#[test]
fn rng_balloon_none() {
    golden("rng_balloon_none", rng_no_balloon(DIR), false);
}
#[test]
fn qemu_commandline_args_env() {
    golden("qemu_commandline_args_env", qemu_commandline(DIR), false);
}
#[test]
fn localtime_clock_vcpus_current() {
    golden("localtime_clock_vcpus_current", localtime(DIR), false);
}
#[test]
fn chardevs_channels_consoles() {
    golden("chardevs_channels_consoles", chardevs(DIR), false);
}
#[test]
fn ide_four_disks_boot_dev() {
    golden("ide_four_disks_boot_dev", ide_full(DIR), false);
}

#[test]
fn acpi_absent_vs_present() {
    let off = build(&minimal(DIR), &ctx(false)).unwrap();
    assert_eq!(
        off.option("-machine"),
        Some("pc,usb=off,dump-guest-core=off,acpi=off")
    );
    let mut d = minimal(DIR);
    d.features.acpi = true;
    let on = build(&d, &ctx(false)).unwrap();
    assert_eq!(
        on.option("-machine"),
        Some("pc,usb=off,dump-guest-core=off")
    );
    assert!(!on.args.iter().any(|a| a == "-no-acpi"));
}

#[test]
fn shell_line_of_seed_example() {
    let line = build(&seed_example1(DIR), &ctx(true))
        .unwrap()
        .to_shell_line();
    assert!(line.starts_with(
        "LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/var/lib/oxvirt/qemu/domain-1-test XDG_DATA_HOME=/var/lib/oxvirt/qemu/domain-1-test/.local/share"
    ));
    assert!(line.contains(
        " /usr/bin/qemu-system-x86_64 -name guest=QEmu-fedora-i686,debug-threads=on -S "
    ));
    assert!(line.contains(r#" -netdev '{"type":"tap","fd":"3","id":"hostnet0"}' "#));
}

#[test]
fn vnc_autoport_at_start_lets_qemu_pick_the_first_free_display() {
    let mut d = minimal(DIR);
    d.devices.graphics.push(vnc(Some(-1)));
    let c = build(&d, &ctx(false)).unwrap();
    assert_eq!(
        c.option("-vnc"),
        Some("127.0.0.1:0,to=59635,audiodev=audio1")
    );
    let native = build(&d, &ctx(true)).unwrap();
    assert_eq!(native.option("-vnc"), Some("127.0.0.1:0,audiodev=audio1"));
    // Default video when graphics exist but no <video>: cirrus (libvirt 9, pc).
    assert!(c.args.iter().any(|a| a.contains("\"cirrus-vga\"")));
}

fn err(dom: Domain) -> String {
    build(&dom, &ctx(false)).unwrap_err().message
}

#[test]
fn error_network_interface_at_start() {
    let m = err(seed_example1(DIR));
    assert_eq!(
        m,
        "interface 0: interface type 'network' (network 'default') needs a tap device; oxvirt does not manage virtual networks yet; use <interface type='user'>"
    );
    let mut d = minimal(DIR);
    d.devices.interfaces.push(Interface {
        iface_type: InterfaceType::Bridge("br0".into()),
        mac: Some("52:54:00:00:00:01".into()),
        model: None,
        boot_order: None,
        address: None,
    });
    assert!(err(d.clone()).contains("interface type 'bridge' (bridge 'br0') needs a tap device"));
    // ... but domxml-to-native prints it.
    let c = build(&d, &ctx(true)).unwrap();
    assert!(c
        .args
        .iter()
        .any(|a| a == r#"{"type":"tap","fd":"3","id":"hostnet0"}"#));
}

#[test]
fn error_spice() {
    let mut d = minimal(DIR);
    let mut g = vnc(None);
    g.graphics_type = "spice".into();
    d.devices.graphics.push(g);
    assert_eq!(
        err(d),
        "<graphics type='spice'> is not supported; use type='vnc'"
    );
}

#[test]
fn error_ide_too_many() {
    let mut d = minimal(DIR);
    d.devices.disks.push(file_disk("/x.img", "hde", None));
    assert_eq!(
        err(d),
        "disk 'hde': target bus 'ide' supports at most 4 disks (hda..hdd)"
    );
}

#[test]
fn error_ide_on_q35() {
    let mut d = sata_q35(DIR);
    d.devices.disks.push(file_disk("/x.img", "hda", None));
    assert!(err(d).contains("q35 machine has no IDE bus; use <target bus='sata'>"));
}

#[test]
fn error_readonly_ide_disk() {
    let mut d = minimal(DIR);
    let mut disk = file_disk("/x.img", "hda", None);
    disk.readonly = true;
    d.devices.disks.push(disk);
    assert!(err(d).starts_with("disk 'hda': read-only disks are not supported on bus 'ide'"));
}

#[test]
fn error_disk_without_source_or_bad_format() {
    let mut d = minimal(DIR);
    let mut disk = file_disk("/x.img", "vda", None);
    disk.source = None;
    d.devices.disks.push(disk);
    assert_eq!(
        err(d),
        "disk 'vda': has no <source>; only a cdrom may be empty"
    );
    let mut d = minimal(DIR);
    let mut disk = file_disk("/x.img", "vda", None);
    disk.driver_type = Some("bogus".into());
    d.devices.disks.push(disk);
    assert!(err(d).starts_with("disk 'vda': <driver type='bogus'> is not a supported image format"));
}

#[test]
fn error_duplicate_target() {
    let mut d = minimal(DIR);
    d.devices.disks.push(file_disk("/x.img", "vda", None));
    d.devices.disks.push(file_disk("/y.img", "vda", None));
    assert!(err(d).starts_with("disk 'vda': target dev used by two disks"));
}

#[test]
fn error_missing_mac() {
    let mut d = minimal(DIR);
    let mut n = user_nic("52:54:00:00:00:01", None);
    n.mac = None;
    d.devices.interfaces.push(n);
    assert!(err(d).starts_with("interface 0: no MAC address"));
}

#[test]
fn error_host_passthrough_on_tcg() {
    let mut d = kvm(DIR);
    d.virt_type = VirtType::Qemu;
    assert!(err(d).starts_with("<cpu mode='host-passthrough'> needs <domain type='kvm'>"));
}

#[test]
fn error_boot_dev_with_boot_order() {
    let mut d = virtio_boot_order(DIR);
    d.os.boot = vec![BootDev::Hd];
    assert!(
        err(d).starts_with("per-device <boot order> cannot be used together with <os><boot dev>")
    );
}

#[test]
fn error_vnc_bad_port_and_usb_none() {
    let mut d = minimal(DIR);
    d.devices.graphics.push(vnc(Some(80)));
    assert!(err(d).contains("port='80'>: the port must be -1 (automatic) or 5900..65535"));
    let mut d = usb_tablet_vnc(DIR);
    d.devices.controllers.push(Controller {
        controller_type: "usb".into(),
        model: Some("none".into()),
        ..Default::default()
    });
    assert!(err(d).contains("needs a USB controller"));
}

#[test]
fn usb_none_removes_controller() {
    let mut d = minimal(DIR);
    d.devices.controllers.push(Controller {
        controller_type: "usb".into(),
        model: Some("none".into()),
        ..Default::default()
    });
    let c = build(&d, &ctx(false)).unwrap();
    assert!(!c.args.iter().any(|a| a.contains("usb-uhci")));
}

#[test]
fn sata_on_pc_adds_ahci() {
    let mut d = sata_q35(DIR);
    d.os.machine = Some("pc".into());
    let c = build(&d, &ctx(false)).unwrap();
    assert!(c
        .args
        .iter()
        .any(|a| a == r#"{"driver":"ahci","id":"sata0"}"#));
    assert!(c
        .args
        .iter()
        .any(|a| a.contains(r#""driver":"ide-cd","bus":"sata0.1","id":"sata0-0-1""#)));
}

#[test]
fn kernel_boot_q35_console_only_native() {
    golden(
        "kernel_boot_q35_console_only_native",
        kernel_q35_console_only(DIR),
        true,
    );
}

/// A fixture of the core crate's domain XML tests (real virt-install / dumpxml output).
fn xml_fixture(name: &str) -> Domain {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../core/tests/data")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    parse_domain_xml(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn virt_install_q35_vnc_native() {
    // 14 pcie-root-ports (index left out, as virt-install writes it), guest agent
    // channel without a path, network interface as a tap placeholder.
    golden(
        "virt_install_q35_vnc_native",
        xml_fixture("virt-install-q35-vnc.xml"),
        true,
    );
}

#[test]
fn virt_install_pc_vnc_native() {
    golden(
        "virt_install_pc_vnc_native",
        xml_fixture("virt-install-pc-vnc.xml"),
        true,
    );
}

#[test]
fn dumpxml_root_ports_match_virt_install_placement() {
    // libvirt's dumpxml spells out index, chassis, port and address of each root
    // port; the automatic placement for virt-install's XML must give the same argv.
    let auto = build(&xml_fixture("virt-install-q35-vnc.xml"), &ctx(true)).unwrap();
    let dumped = build(&xml_fixture("dumpxml-virt-install-q35-vnc.xml"), &ctx(true)).unwrap();
    let ports = |c: &QemuCommand| -> Vec<String> {
        c.args
            .iter()
            .filter(|a| a.contains("pcie-root-port"))
            .cloned()
            .collect()
    };
    assert_eq!(ports(&auto).len(), 14);
    assert_eq!(ports(&auto), ports(&dumped));
    assert_eq!(
        ports(&auto)[0],
        r#"{"driver":"pcie-root-port","port":16,"chassis":1,"id":"pci.1","bus":"pcie.0","multifunction":true,"addr":"0x2"}"#
    );
    assert_eq!(
        ports(&auto)[9],
        r#"{"driver":"pcie-root-port","port":25,"chassis":10,"id":"pci.10","bus":"pcie.0","addr":"0x3.0x1"}"#
    );
}

#[test]
fn virt_install_pc_misc_without_uefi_native() {
    // Sound ac97, qxl with sizes, CPU topology and features, serial log append.
    // The UEFI loader/nvram are refused at start (tested below), so removed here.
    let mut d = xml_fixture("dumpxml-virt-install-pc-misc.xml");
    d.os.loader = None;
    d.os.loader_type = None;
    d.os.loader_readonly = None;
    d.os.nvram = None;
    golden("virt_install_pc_misc_without_uefi_native", d, true);
}

#[test]
fn ich9_sound_with_codecs() {
    let mut d = minimal(DIR);
    d.devices.sounds.push(Sound {
        model: "ich9".into(),
        codecs: vec!["micro".into(), "output".into()],
        address: None,
    });
    let c = build(&d, &ctx(false)).unwrap();
    let devs: Vec<&String> = c.args.iter().filter(|a| a.contains("sound0")).collect();
    assert_eq!(
        devs,
        [
            r#"{"driver":"ich9-intel-hda","id":"sound0"}"#,
            r#"{"driver":"hda-micro","id":"sound0-codec0","bus":"sound0.0","cad":0,"audiodev":"audio1"}"#,
            r#"{"driver":"hda-output","id":"sound0-codec1","bus":"sound0.0","cad":1,"audiodev":"audio1"}"#,
        ]
    );
}

#[test]
fn errors_for_what_parses_but_cannot_start() {
    let m = err(xml_fixture("dumpxml-virt-install-pc-misc.xml"));
    assert!(m.starts_with("<loader type='pflash'> (UEFI firmware in flash) is not supported by oxvirt at start yet"), "{m}");
    let mut d = xml_fixture("dumpxml-virt-install-pc-misc.xml");
    d.os.loader_type = None;
    assert_eq!(
        err(d),
        "<nvram> (UEFI variable store) is not supported by oxvirt at start yet"
    );
    // The spice guest: graphics, spicevmc channel, spice audio and usb redirection.
    let d = xml_fixture("dumpxml-virt-install-q35-spice.xml");
    assert!(err(d.clone()).starts_with(
        "<redirdev bus='usb' type='spicevmc'> is not supported by oxvirt at start yet"
    ));
    let mut d2 = d.clone();
    d2.devices.redirdevs.clear();
    assert_eq!(
        err(d2.clone()),
        "<audio id='1' type='spice'> is not supported by oxvirt at start yet; use type='none'"
    );
    d2.devices.audios.clear();
    d2.devices
        .channels
        .retain(|c| c.source != ChardevSource::Spicevmc);
    d2.devices.interfaces.clear();
    assert_eq!(
        err(d2),
        "<graphics type='spice'> is not supported; use type='vnc'"
    );
    let mut d = minimal(DIR);
    d.devices.controllers.push(Controller {
        controller_type: "virtio-serial".into(),
        driver: Some(vec![("queues".into(), "2".into())]),
        ..Default::default()
    });
    assert!(err(d).starts_with("<controller type='virtio-serial'><driver> is not supported"));
    let mut d = minimal(DIR);
    d.devices.controllers.push(Controller {
        controller_type: "pci".into(),
        index: Some(1),
        model: Some("pcie-root-port".into()),
        ..Default::default()
    });
    assert!(
        err(d).contains("is not supported on machine 'pc'; only pcie-root-port controllers on q35")
    );
    let mut d = minimal(DIR);
    d.cpu = Some(Cpu {
        topology: Some(CpuTopology {
            sockets: Some(2),
            cores: Some(2),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert!(err(d).contains("gives 4 vCPUs, but <vcpu> is 1"));
}

#[test]
fn seccomp_sandbox_and_vnc_listen_come_from_qemu_toml() {
    let dom = minimal(DIR);
    let on = build(&dom, &ctx(false)).unwrap();
    assert_eq!(
        on.option("-sandbox"),
        Some("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny")
    );
    let off_ctx = ArgvContext {
        seccomp_sandbox: 0,
        ..ctx(false)
    };
    assert_eq!(
        build(&dom, &off_ctx).unwrap().option("-sandbox"),
        Some("off")
    );

    let mut dom = minimal(DIR);
    dom.devices.graphics.push(vnc(Some(5907)));
    let listen_ctx = ArgvContext {
        vnc_listen: "0.0.0.0",
        ..ctx(false)
    };
    let c = build(&dom, &listen_ctx).unwrap();
    assert_eq!(c.option("-vnc"), Some("0.0.0.0:7,audiodev=audio1"));
}

#[test]
fn error_pci_controller_index_out_of_range() {
    let mut d = sata_q35(DIR);
    d.devices.controllers.push(Controller {
        controller_type: "pci".into(),
        index: Some(u32::MAX),
        model: Some("pcie-root-port".into()),
        ..Default::default()
    });
    assert_eq!(
        err(d),
        "<controller type='pci' index='4294967295'>: a PCI controller index must be 0 to 255"
    );
}
