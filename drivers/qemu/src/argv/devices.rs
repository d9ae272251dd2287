//! Controllers, network interfaces, input, VNC, video, balloon and RNG devices.
//!
//! Defaults follow libvirt 9 for x86: an implicit USB controller (`piix3-usb-uhci` on
//! pc, `qemu-xhci` on q35) unless `<controller type='usb' model='none'>`, NIC model
//! `rtl8139` when none is given, video `cirrus` when there is graphics but no
//! `<video>`, a `virtio-balloon-pci` unless `<memballoon model='none'>`.

use super::chardev::needs_virtio_serial;
use super::props::{kv_escape, Props};
use super::{is_q35, Args, ArgvContext};
use oxvirt_core::domain::{DiskBus, Domain, InterfaceType};
use oxvirt_core::{Error, Result};
use std::net::IpAddr;

/// The USB controller device to create, if any.
fn usb_controller(dom: &Domain) -> Result<Option<&'static str>> {
    let explicit = dom
        .devices
        .controllers
        .iter()
        .find(|c| c.controller_type == "usb" && c.index.unwrap_or(0) == 0);
    let model = explicit.and_then(|c| c.model.as_deref());
    Ok(match model {
        None => Some(if is_q35(dom) { "qemu-xhci" } else { "piix3-usb-uhci" }),
        Some("none") => None,
        Some("piix3-uhci") => Some("piix3-usb-uhci"),
        Some("piix4-uhci") => Some("piix4-usb-uhci"),
        Some("ehci") => Some("usb-ehci"),
        Some("ich9-ehci1") => Some("ich9-usb-ehci1"),
        Some("qemu-xhci") => Some("qemu-xhci"),
        Some("nec-xhci") => Some("nec-usb-xhci"),
        Some(m) => {
            return Err(Error::unsupported(format!(
                "<controller type='usb' model='{m}'> is not supported; use piix3-uhci, ehci, qemu-xhci, nec-xhci or none"
            )))
        }
    })
}

/// USB, SCSI, SATA (pc only) and virtio-serial controllers, in libvirt's order.
pub(crate) fn controllers(dom: &Domain, a: &mut Args) -> Result<()> {
    let d = &dom.devices;
    for c in &d.controllers {
        let ok = match c.controller_type.as_str() {
            "usb" | "scsi" | "sata" | "virtio-serial" => c.index.unwrap_or(0) == 0,
            "ide" | "pci" => true,
            _ => false,
        };
        if !ok {
            return Err(Error::unsupported(format!(
                "<controller type='{}' index='{}'> is not supported; only index 0 of usb, scsi, sata and virtio-serial controllers",
                c.controller_type,
                c.index.unwrap_or(0)
            )));
        }
    }
    if let Some(dev) = usb_controller(dom)? {
        let mut p = Props::new().with("driver", dev).with("id", "usb");
        if dev == "piix3-usb-uhci" && !is_q35(dom) {
            // Function 2 of the PIIX3 chip, where libvirt (and real hardware) puts it.
            p = p.with("bus", "pci.0").with("addr", "0x1.0x2");
        }
        a.json("-device", &p);
    }
    let has = |t: &str| d.controllers.iter().any(|c| c.controller_type == t);
    if has("scsi") || d.disks.iter().any(|x| x.bus() == DiskBus::Scsi) {
        let model = d
            .controllers
            .iter()
            .find(|c| c.controller_type == "scsi")
            .and_then(|c| c.model.as_deref());
        match model {
            None | Some("virtio-scsi") => {}
            Some(m) => {
                return Err(Error::unsupported(format!(
                    "<controller type='scsi' model='{m}'> is not supported; use model='virtio-scsi'"
                )))
            }
        }
        a.json(
            "-device",
            &Props::new()
                .with("driver", "virtio-scsi-pci")
                .with("id", "scsi0"),
        );
    }
    if !is_q35(dom) && (has("sata") || d.disks.iter().any(|x| x.bus() == DiskBus::Sata)) {
        a.json(
            "-device",
            &Props::new().with("driver", "ahci").with("id", "sata0"),
        );
    }
    if has("virtio-serial") || needs_virtio_serial(dom) {
        a.json(
            "-device",
            &Props::new()
                .with("driver", "virtio-serial-pci")
                .with("id", "virtio-serial0"),
        );
    }
    Ok(())
}

fn valid_mac(m: &str) -> bool {
    let parts: Vec<&str> = m.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
        && u8::from_str_radix(parts[0], 16).is_ok_and(|b| b & 1 == 0)
}

/// `<interface>` → `-netdev` + `-device`. The MAC must have been assigned by the
/// caller (define time), as libvirt does when it parses a definition.
pub(crate) fn interfaces(
    dom: &Domain,
    boot: &[Option<u32>],
    ctx: &ArgvContext<'_>,
    a: &mut Args,
) -> Result<()> {
    let mut fd = 3u32;
    for (i, n) in dom.devices.interfaces.iter().enumerate() {
        let netdev = format!("hostnet{i}");
        let mac = n.mac.as_deref().ok_or_else(|| {
            Error::internal(format!(
                "interface {i}: no MAC address; the definition must be given one (<mac address='52:54:00:..'/>) before start"
            ))
        })?;
        if !valid_mac(mac) {
            return Err(Error::xml(format!(
                "interface {i}: '{mac}' is not a unicast MAC address (use 52:54:00:xx:xx:xx)"
            )));
        }
        let need_tap = |what: String| -> Result<Props> {
            if ctx.for_native_export {
                let p = Props::new()
                    .with("type", "tap")
                    .with("fd", fd.to_string())
                    .with("id", netdev.as_str());
                Ok(p)
            } else {
                Err(Error::unsupported(format!(
                    "interface {i}: {what} needs a tap device; oxvirt does not manage virtual networks yet; use <interface type='user'>"
                )))
            }
        };
        let nd = match &n.iface_type {
            InterfaceType::User => Props::new()
                .with("type", "user")
                .with("id", netdev.as_str()),
            InterfaceType::Network(net) => {
                let p = need_tap(format!("interface type 'network' (network '{net}')"))?;
                fd += 1;
                p
            }
            InterfaceType::Bridge(br) => {
                let p = need_tap(format!("interface type 'bridge' (bridge '{br}')"))?;
                fd += 1;
                p
            }
        };
        a.json("-netdev", &nd);
        let model = match n.model.as_deref() {
            None => "rtl8139",
            Some("virtio") => "virtio-net-pci",
            Some(m)
                if !m.is_empty()
                    && m.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)) =>
            {
                m
            }
            Some(m) => {
                return Err(Error::xml(format!(
                    "interface {i}: <model type='{m}'> is not a NIC model name"
                )))
            }
        };
        a.json(
            "-device",
            &Props::new()
                .with("driver", model)
                .with("netdev", netdev.as_str())
                .with("id", format!("net{i}"))
                .with("mac", mac)
                .with_opt("bootindex", boot[i]),
        );
    }
    Ok(())
}

/// `<input>`: PS/2 mouse and keyboard are built in; USB and virtio ones are devices.
pub(crate) fn inputs(dom: &Domain, a: &mut Args) -> Result<()> {
    let usb = usb_controller(dom)?.is_some();
    let mut usb_port = 0u32;
    for (i, inp) in dom.devices.inputs.iter().enumerate() {
        let bus = inp.bus.as_deref().unwrap_or(match inp.input_type.as_str() {
            "tablet" => "usb",
            _ => "ps2",
        });
        let what = format!("<input type='{}' bus='{bus}'>", inp.input_type);
        let driver = match (inp.input_type.as_str(), bus) {
            ("mouse" | "keyboard", "ps2") => continue,
            ("tablet", "usb") => "usb-tablet",
            ("mouse", "usb") => "usb-mouse",
            ("keyboard", "usb") => "usb-kbd",
            ("tablet", "virtio") => "virtio-tablet-pci",
            ("mouse", "virtio") => "virtio-mouse-pci",
            ("keyboard", "virtio") => "virtio-keyboard-pci",
            _ => return Err(Error::unsupported(format!("{what} is not supported"))),
        };
        let mut p = Props::new()
            .with("driver", driver)
            .with("id", format!("input{i}"));
        if bus == "usb" {
            if !usb {
                return Err(Error::xml(format!(
                    "{what} needs a USB controller, but <controller type='usb' model='none'> removed it"
                )));
            }
            usb_port += 1;
            p = p.with("bus", "usb.0").with("port", usb_port.to_string());
        }
        a.json("-device", &p);
    }
    Ok(())
}

/// `<graphics type='vnc'>` → `-vnc` (+ `-k`). Other graphics types are refused.
pub(crate) fn graphics(dom: &Domain, ctx: &ArgvContext<'_>, a: &mut Args) -> Result<()> {
    let gs = &dom.devices.graphics;
    for g in gs {
        if g.graphics_type != "vnc" {
            return Err(Error::unsupported(format!(
                "<graphics type='{}'> is not supported; use type='vnc'",
                g.graphics_type
            )));
        }
    }
    if gs.len() > 1 {
        return Err(Error::unsupported(
            "only one <graphics type='vnc'> per domain is supported",
        ));
    }
    let Some(g) = gs.first() else { return Ok(()) };
    let listen = g.listen.as_deref().unwrap_or(ctx.vnc_listen);
    let ip: IpAddr = listen.parse().map_err(|_| {
        Error::xml(format!(
            "<graphics type='vnc' listen='{listen}'>: not an IP address"
        ))
    })?;
    let auto = g.autoport == Some(true) || matches!(g.port, None | Some(-1));
    // Automatic: QEMU takes the first free display from 0 on (`to=`), atomically — no
    // window between choosing a port and binding it. The supervisor reads the port
    // back (`query-vnc`) into the live XML.
    let port: u16 = if auto {
        5900
    } else {
        match g.port {
            Some(p) if (5900..=65535).contains(&p) => p as u16,
            Some(p) => {
                return Err(Error::xml(format!(
                "<graphics type='vnc' port='{p}'>: the port must be -1 (automatic) or 5900..65535"
            )))
            }
            None => unreachable!("None is automatic"),
        }
    };
    let host = match ip {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    };
    let mut v = format!("{host}:{}", port - 5900);
    if auto && !ctx.for_native_export {
        v.push_str(",to=59635");
    }
    if g.passwd.is_some() {
        // The password itself is set over QMP (set_password) after start.
        v.push_str(",password=on");
    }
    v.push_str(&format!(
        ",audiodev={}",
        super::guest_extras::audiodev_id(dom)
    ));
    a.opt("-vnc", v);
    if let Some(k) = &g.keymap {
        a.opt("-k", kv_escape(k));
    }
    Ok(())
}

/// `<video>` → display device; cirrus when graphics exist and no video is given.
pub(crate) fn videos(dom: &Domain, a: &mut Args) -> Result<()> {
    let d = &dom.devices;
    let implicit;
    let videos: Vec<(&str, Option<u32>, Option<u64>)> = if d.videos.is_empty() {
        if d.graphics.is_empty() {
            return Ok(());
        }
        implicit = [("cirrus", None, None)];
        implicit.to_vec()
    } else {
        d.videos
            .iter()
            .map(|v| (v.model.as_str(), v.heads, v.vram))
            .collect()
    };
    for (i, (model, heads, vram)) in videos.iter().enumerate() {
        let primary = i == 0;
        let driver = match (*model, primary) {
            ("none", _) => continue,
            ("vga", true) => "VGA",
            ("cirrus", true) => "cirrus-vga",
            ("qxl", true) => "qxl-vga",
            ("qxl", false) => "qxl",
            ("virtio", true) => "virtio-vga",
            ("virtio", false) => "virtio-gpu-pci",
            ("bochs", _) => "bochs-display",
            ("ramfb", true) => "ramfb",
            (m, _) => {
                return Err(Error::unsupported(format!(
                    "<video><model type='{m}'> is not supported{}; use vga, cirrus, qxl, virtio or bochs",
                    if primary { "" } else { " as a secondary video device" }
                )))
            }
        };
        let mut p = Props::new()
            .with("driver", driver)
            .with("id", format!("video{i}"));
        if *model == "virtio" {
            p = p.with("max_outputs", heads.unwrap_or(1));
        }
        if *model == "qxl" {
            p = super::guest_extras::qxl_props(p, &d.videos[i], primary);
        }
        if matches!(*model, "vga" | "bochs") {
            if let Some(kib) = vram {
                p = p.with("vgamem_mb", (kib / 1024) as i64);
            }
        }
        a.json("-device", &p);
    }
    Ok(())
}

/// `<memballoon>`: virtio (the default when absent) or none.
pub(crate) fn memballoon(dom: &Domain, a: &mut Args) -> Result<()> {
    match dom.devices.memballoon.as_ref().map(|m| m.model.as_str()) {
        None | Some("virtio") => a.json(
            "-device",
            &Props::new()
                .with("driver", "virtio-balloon-pci")
                .with("id", "balloon0"),
        ),
        Some("none") => {}
        Some(m) => {
            return Err(Error::unsupported(format!(
                "<memballoon model='{m}'> is not supported; use 'virtio' or 'none'"
            )))
        }
    }
    Ok(())
}

/// `<rng model='virtio'>` with a `random` or `builtin` backend.
pub(crate) fn rngs(dom: &Domain, a: &mut Args) -> Result<()> {
    for (i, r) in dom.devices.rngs.iter().enumerate() {
        if r.model != "virtio" {
            return Err(Error::unsupported(format!(
                "<rng model='{}'> is not supported; use model='virtio'",
                r.model
            )));
        }
        let obj = format!("objrng{i}");
        let o = match r.backend_model.as_str() {
            "random" => Props::new()
                .with("qom-type", "rng-random")
                .with("id", obj.as_str())
                .with(
                    "filename",
                    r.backend_dev.as_deref().unwrap_or("/dev/urandom"),
                ),
            "builtin" => Props::new()
                .with("qom-type", "rng-builtin")
                .with("id", obj.as_str()),
            m => {
                return Err(Error::unsupported(format!(
                    "<rng><backend model='{m}'> is not supported; use 'random' or 'builtin'"
                )))
            }
        };
        a.json("-object", &o);
        a.json(
            "-device",
            &Props::new()
                .with("driver", "virtio-rng-pci")
                .with("rng", obj.as_str())
                .with("id", format!("rng{i}")),
        );
    }
    Ok(())
}
