//! Domain XML round trips, schema validation and snapshots over `tests/data/*.xml`.

use std::path::{Path, PathBuf};
use std::process::Command;

use oxvirt_core::domain::{format_domain_xml, parse_domain_xml, Domain, FormatOptions};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn fixtures() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(data_dir())
        .expect("tests/data")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).expect("read fixture"),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 10, "fixtures missing");
    out
}

fn parse_fixture(name: &str) -> Domain {
    let text = std::fs::read_to_string(data_dir().join(name)).expect("read fixture");
    parse_domain_xml(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_fixture_round_trips() {
    for (name, text) in fixtures() {
        let first = parse_domain_xml(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let xml = format_domain_xml(&first, FormatOptions::default());
        let second = parse_domain_xml(&xml).unwrap_or_else(|e| panic!("{name}: {e}\n{xml}"));
        assert_eq!(first, second, "{name} changed in a round trip:\n{xml}");
        // Formatting is stable too.
        assert_eq!(xml, format_domain_xml(&second, FormatOptions::default()));
    }
}

#[test]
fn live_xml_round_trips_with_id() {
    for (name, text) in fixtures() {
        let mut dom = parse_domain_xml(&text).unwrap();
        dom.id = Some(7);
        let xml = format_domain_xml(&dom, FormatOptions { live: true });
        assert!(xml.contains(" id='7'"), "{name}");
        assert_eq!(parse_domain_xml(&xml).unwrap(), dom, "{name}");
    }
}

fn xmllint(xml: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("domain.xml");
    std::fs::write(&path, xml).unwrap();
    let out = Command::new("xmllint")
        .args([
            "--noout",
            "--relaxng",
            "/usr/share/libvirt/schemas/domain.rng",
        ])
        .arg(&path)
        .output()
        .map_err(|e| format!("cannot run xmllint: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn formatted_xml_validates_against_libvirt_schema() {
    assert!(
        Path::new("/usr/share/libvirt/schemas/domain.rng").exists(),
        "libvirt's schemas are missing: install the libvirt0 package (and libxml2-utils for xmllint)"
    );
    for (name, text) in fixtures() {
        let mut dom = parse_domain_xml(&text).unwrap();
        let xml = format_domain_xml(&dom, FormatOptions::default());
        if let Err(e) = xmllint(&xml) {
            panic!("{name}: formatted XML does not validate:\n{e}\n{xml}");
        }
        dom.id = Some(42);
        let live = format_domain_xml(&dom, FormatOptions { live: true });
        if let Err(e) = xmllint(&live) {
            panic!("{name}: live XML does not validate:\n{e}\n{live}");
        }
    }
}

#[test]
fn seeds_parse_as_documented() {
    use oxvirt_core::domain::*;
    let d = parse_fixture("seed-kvm-demo2.xml");
    assert_eq!(d.virt_type, VirtType::Kvm);
    assert_eq!(d.name, "demo2");
    assert_eq!(d.uuid.to_string(), "4dea24b3-1d52-d8f3-2516-782e98a23fa0");
    assert_eq!(d.memory_kib, 131072);
    assert_eq!(d.clock.as_ref().unwrap().offset, ClockOffset::Localtime);
    assert_eq!(
        d.devices.interfaces[0].mac.as_deref(),
        Some("24:42:53:21:52:45")
    );
    assert_eq!(d.devices.graphics[0].port, Some(-1));
    assert_eq!(d.devices.graphics[0].keymap.as_deref(), Some("de"));
    assert_eq!(d.devices.disks[0].target_bus, None);
    assert_eq!(d.devices.disks[0].bus(), DiskBus::Ide);

    let d = parse_fixture("seed-6x-qemu-i686.xml");
    assert_eq!(d.vcpu.count, 2);
    assert_eq!(d.os.boot, vec![BootDev::Cdrom]);
    assert_eq!(d.os.arch.as_deref(), Some("i686"));
    assert_eq!(d.devices.disks[0].device, DiskDevice::Cdrom);
    assert!(d.devices.disks[0].readonly);
    assert_eq!(
        d.devices.interfaces[0].iface_type,
        InterfaceType::Network("default".into())
    );

    let d = parse_fixture("seed-071-block.xml");
    assert_eq!(d.devices.disks[0].disk_type, DiskType::Block);
    assert_eq!(
        d.devices.disks[0].source.as_deref(),
        Some("/dev/HostVG/QEMUGuest1")
    );
    assert_eq!(d.on_reboot, Some(LifecycleAction::Restart));

    let d = parse_fixture("seed-qemu-commandline.xml");
    let cl = d.qemu_commandline.unwrap();
    assert_eq!(cl.args, vec!["-newarg"]);
    assert_eq!(cl.env, vec![("QEMU_ENV".into(), Some("VAL".into()))]);
}

#[test]
fn other_fixtures_parse_as_written() {
    use oxvirt_core::domain::*;
    let d = parse_fixture("qemu-capabilities-prefix.xml");
    assert_eq!(d.memory_kib, 512 * 1024);
    let caps = d.qemu_capabilities.unwrap();
    assert_eq!(caps.add, vec!["blockdev"]);
    assert_eq!(caps.del, vec!["drive"]);
    let cl = d.qemu_commandline.unwrap();
    assert_eq!(cl.args[1], "events=/tmp/ev & more");
    assert_eq!(cl.env, vec![("NOVALUE".into(), None)]);

    let d = parse_fixture("direct-kernel-boot.xml");
    assert_eq!(d.memory_kib, 1024 * 1024);
    // 512 MB = 512,000,000 bytes = 500,000 KiB exactly.
    assert_eq!(d.current_memory_kib, Some(500_000));
    assert_eq!(d.vcpu.current, Some(1));
    assert_eq!(
        d.os.cmdline.as_deref(),
        Some("console=ttyS0 root=/dev/vda rw quiet")
    );
    assert_eq!(
        d.devices.serials[0].source,
        ChardevSource::File {
            path: "/var/log/oxvirt/kernel-boot.serial.log".into(),
            append: Some(true)
        }
    );
    let cpu = d.cpu.unwrap();
    assert_eq!(cpu.model.as_deref(), Some("qemu64"));
    assert_eq!(cpu.model_fallback.as_deref(), Some("allow"));
    assert_eq!(d.on_crash, Some(LifecycleAction::CoredumpDestroy));

    let d = parse_fixture("boot-order-devices.xml");
    // 1,000,001 KB = 1,000,001,000 bytes → 976,563.48 KiB, rounded up.
    assert_eq!(d.memory_kib, 976_564);
    assert_eq!(d.os.bootmenu, Some(true));
    assert_eq!(d.devices.disks[0].boot_order, Some(2));
    assert!(d.devices.disks[0].shareable);
    assert_eq!(d.devices.graphics[0].passwd.as_deref(), Some("s3cr't"));
    assert_eq!(d.devices.graphics[0].listen.as_deref(), Some("0.0.0.0"));

    let d = parse_fixture("chardevs-seclabel.xml");
    assert_eq!(d.current_memory_kib, Some(262_144));
    assert_eq!(d.devices.disks[0].seclabels[0].relabel, Some(false));
    assert_eq!(d.seclabels.len(), 2);
    assert_eq!(
        d.devices.serials[0].source,
        ChardevSource::Unix {
            path: "/run/oxvirt/serial.sock".into(),
            mode: UnixMode::Connect
        }
    );
    assert_eq!(d.devices.channels[1].source, ChardevSource::Spicevmc);

    let d = parse_fixture("virt-install-x86.xml");
    assert_eq!(d.devices.controllers.len(), 5);
    assert_eq!(d.devices.graphics[0].listen.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        d.devices.rngs[0].backend_dev.as_deref(),
        Some("/dev/urandom")
    );
    assert_eq!(
        d.description.as_deref(),
        Some("Created by virt-install <test> & edited")
    );
    assert!(d.devices.disks[1].source.is_none());
    assert_eq!(d.features.vmport, Some(false));
    assert_eq!(d.pm.as_ref().unwrap().suspend_to_disk, Some(false));
    assert_eq!(d.devices.disks[0].driver_discard.as_deref(), Some("unmap"));
}

#[test]
fn missing_uuid_is_generated_v4() {
    let a = parse_fixture("no-uuid.xml");
    let b = parse_fixture("no-uuid.xml");
    assert_eq!(a.uuid.get_version_num(), 4);
    assert_ne!(a.uuid, b.uuid);
    assert_eq!(a.memory_kib, 2 * 1024 * 1024);
}

#[test]
fn snapshot_virt_install() {
    insta::assert_snapshot!(format_domain_xml(
        &parse_fixture("virt-install-x86.xml"),
        FormatOptions::default()
    ));
}

#[test]
fn snapshot_direct_kernel_boot() {
    insta::assert_snapshot!(format_domain_xml(
        &parse_fixture("direct-kernel-boot.xml"),
        FormatOptions::default()
    ));
}

#[test]
fn snapshot_qemu_namespace_live() {
    let mut d = parse_fixture("qemu-capabilities-prefix.xml");
    d.id = Some(5);
    insta::assert_snapshot!(format_domain_xml(&d, FormatOptions { live: true }));
}

/// Real `virt-install --print-xml` output and libvirt 9's `dumpxml` of it (see
/// `tests/tools/virt-install-fixtures.sh`).
#[test]
fn virt_install_and_dumpxml_fixtures_parse_as_written() {
    let d = parse_fixture("virt-install-q35-vnc.xml");
    let md = d.metadata.as_ref().unwrap();
    assert_eq!(md.elements.len(), 1);
    assert!(md.elements[0].starts_with(
        "<libosinfo:libosinfo xmlns:libosinfo=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\">"
    ));
    assert_eq!(
        d.devices
            .controllers
            .iter()
            .filter(|c| c.model.as_deref() == Some("pcie-root-port"))
            .count(),
        14
    );

    let d = parse_fixture("dumpxml-virt-install-q35-spice.xml");
    let port = &d.devices.controllers[3];
    assert_eq!(port.model_name.as_deref(), Some("pcie-root-port"));
    let t = port.target.as_ref().unwrap();
    assert_eq!((t.chassis, t.port.as_deref()), (Some(2), Some("0x11")));
    assert_eq!(d.devices.graphics[0].graphics_type, "spice");
    assert_eq!(
        d.devices.graphics[0].image_compression.as_deref(),
        Some("off")
    );
    assert_eq!(d.devices.sounds[0].model, "ich9");
    assert!(d.devices.sounds[0].address.is_some());
    assert_eq!(d.devices.audios[0].audio_type, "spice");
    assert_eq!(d.devices.redirdevs.len(), 2);
    assert!(d.devices.memballoon.as_ref().unwrap().address.is_some());
    assert!(d.devices.rngs[0].address.is_some());
    assert!(d.devices.videos[0].address.is_some());
    assert!(d.devices.inputs[0].address.is_some());
    assert_eq!(
        d.devices.serials[0].target_model.as_deref(),
        Some("isa-serial")
    );

    let d = parse_fixture("dumpxml-virt-install-pc-misc.xml");
    assert_eq!(d.os.loader_type.as_deref(), Some("pflash"));
    assert_eq!(d.os.loader_readonly, Some(true));
    let nv = d.os.nvram.as_ref().unwrap();
    assert_eq!(nv.template.as_deref(), Some("/usr/share/OVMF/OVMF_VARS.fd"));
    let cpu = d.cpu.as_ref().unwrap();
    let topo = cpu.topology.as_ref().unwrap();
    assert_eq!(
        (topo.sockets, topo.dies, topo.cores, topo.threads),
        (Some(1), Some(1), Some(2), Some(2))
    );
    assert_eq!(cpu.features[1].name, "vmx");
    assert_eq!(cpu.features[1].policy.as_deref(), Some("disable"));
    assert_eq!(d.devices.serials[0].log_append, Some(true));
    assert_eq!(d.devices.sounds[0].model, "ac97");
    let v = &d.devices.videos[0];
    assert_eq!(
        (v.model.as_str(), v.ram, v.vram, v.vgamem),
        ("qxl", Some(65536), Some(65536), Some(16384))
    );
}

#[test]
fn snapshot_dumpxml_spice() {
    insta::assert_snapshot!(format_domain_xml(
        &parse_fixture("dumpxml-virt-install-q35-spice.xml"),
        FormatOptions::default()
    ));
}
