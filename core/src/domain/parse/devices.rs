//! `<devices>` → [`Devices`]: emulator, disks, controllers, interfaces, serial
//! ports, consoles, channels, inputs, graphics, video, memballoon and rng.
//! Device types and sub-elements oxvirt does not implement are errors naming them.

use super::util::*;
use crate::domain::model::*;
use crate::domain::xmltree::Node;
use crate::error::{Error, Result};

pub(super) fn parse_devices(c: &Node, path: &str) -> Result<Devices> {
    check_attrs(c, path, &[])?;
    let mut d = Devices::default();
    for e in &c.children {
        let p = child_path(path, e);
        if !is_plain(e) {
            return Err(unsupported_element(path, e));
        }
        match e.name.as_str() {
            "emulator" => {
                leaf(e, &p, &[])?;
                set_once(&mut d.emulator, req_text(e, &p)?, path, e)?;
            }
            "disk" => d.disks.push(parse_disk(e, &p)?),
            "controller" => d.controllers.push(parse_controller(e, &p)?),
            "interface" => d.interfaces.push(parse_interface(e, &p)?),
            "serial" => d.serials.push(parse_chardev(e, &p, CharKind::Serial)?),
            "console" => d.consoles.push(parse_chardev(e, &p, CharKind::Console)?),
            "channel" => d.channels.push(parse_chardev(e, &p, CharKind::Channel)?),
            "input" => d.inputs.push(parse_input(e, &p)?),
            "graphics" => d.graphics.push(parse_graphics(e, &p)?),
            "video" => d.videos.push(parse_video(e, &p)?),
            "memballoon" => {
                let m = parse_memballoon(e, &p)?;
                set_once(&mut d.memballoon, m, path, e)?;
            }
            "rng" => d.rngs.push(parse_rng(e, &p)?),
            "sound" => d.sounds.push(parse_sound(e, &p)?),
            "audio" => {
                let a = parse_audio(e, &p)?;
                if d.audios.iter().any(|x| x.id == a.id) {
                    return Err(Error::xml(format!(
                        "XML error: <audio id='{}'> is given more than once (at {p}, line {})",
                        a.id, e.line
                    )));
                }
                d.audios.push(a);
            }
            "redirdev" => d.redirdevs.push(parse_redirdev(e, &p)?),
            _ => return Err(unsupported_element(path, e)),
        }
    }
    Ok(d)
}

fn parse_address(e: &Node, path: &str) -> Result<Address> {
    no_children(e, path)?;
    req_attr(e, path, "type")?;
    // Kept verbatim, so only plain attribute names: a prefixed one would need its
    // namespace declaration when formatted.
    if let Some((k, _)) = e.attrs.iter().find(|(k, _)| k.contains(':')) {
        return Err(Error::unsupported(format!(
            "unsupported configuration: attribute '{k}' of <address> is not supported by oxvirt yet (at {path}, line {})",
            e.line
        )));
    }
    Ok(Address {
        attrs: e.attrs.clone(),
    })
}

fn boot_order(e: &Node, path: &str) -> Result<u32> {
    leaf(e, path, &["order"])?;
    req_attr(e, path, "order")?;
    match num_attr::<u32>(e, path, "order")? {
        Some(n) if n > 0 => Ok(n),
        _ => Err(bad_value(
            e,
            path,
            "order",
            e.attr("order").unwrap_or_default(),
            "a positive integer",
        )),
    }
}

fn parse_disk(c: &Node, path: &str) -> Result<Disk> {
    check_attrs(c, path, &["type", "device"])?;
    let mut disk = Disk::default();
    if let Some(t) = c.attr("type") {
        check_supported(
            c,
            path,
            "type",
            t,
            &["file", "block"],
            &["dir", "network", "volume", "nvme", "vhostuser", "vhostvdpa"],
        )?;
    }
    disk.disk_type = enum_attr(
        c,
        path,
        "type",
        &[("file", DiskType::File), ("block", DiskType::Block)],
    )?
    .unwrap_or_default();
    if let Some(d) = c.attr("device") {
        check_supported(c, path, "device", d, &["disk", "cdrom", "floppy"], &["lun"])?;
    }
    disk.device = enum_attr(
        c,
        path,
        "device",
        &[
            ("disk", DiskDevice::Disk),
            ("cdrom", DiskDevice::Cdrom),
            ("floppy", DiskDevice::Floppy),
        ],
    )?
    .unwrap_or_default();
    let mut target_seen = false;
    let mut driver_seen = false;
    let mut source_seen = false;
    for e in &c.children {
        let p = child_path(path, e);
        if !is_plain(e) {
            return Err(unsupported_element(path, e));
        }
        match e.name.as_str() {
            "driver" => {
                leaf(e, &p, &["name", "type", "cache", "discard"])?;
                if driver_seen {
                    return Err(duplicate(path, e));
                }
                driver_seen = true;
                disk.driver_name = string_enum_attr(e, &p, "name", &["qemu"])?;
                disk.driver_type = opt_string(e, "type");
                disk.driver_discard = string_enum_attr(e, &p, "discard", &["unmap", "ignore"])?;
                disk.driver_cache = string_enum_attr(
                    e,
                    &p,
                    "cache",
                    &[
                        "default",
                        "none",
                        "writethrough",
                        "writeback",
                        "directsync",
                        "unsafe",
                    ],
                )?;
            }
            "source" => {
                let attr = match disk.disk_type {
                    DiskType::File => "file",
                    DiskType::Block => "dev",
                };
                check_attrs(e, &p, &[attr])?;
                if source_seen {
                    return Err(duplicate(path, e));
                }
                source_seen = true;
                disk.source = opt_string(e, attr).filter(|s| !s.is_empty());
                for s in &e.children {
                    let sp = child_path(&p, s);
                    match s.name.as_str() {
                        "seclabel" if is_plain(s) => {
                            disk.seclabels.push(super::parse_seclabel(s, &sp, false)?)
                        }
                        _ => return Err(unsupported_element(&p, s)),
                    }
                }
            }
            "target" => {
                leaf(e, &p, &["dev", "bus"])?;
                if target_seen {
                    return Err(duplicate(path, e));
                }
                target_seen = true;
                disk.target_dev = req_attr(e, &p, "dev")?.to_owned();
                if let Some(b) = e.attr("bus") {
                    check_supported(
                        e,
                        &p,
                        "bus",
                        b,
                        &["ide", "sata", "scsi", "virtio", "fdc", "usb"],
                        &["xen", "uml", "sd"],
                    )?;
                }
                disk.target_bus = enum_attr(
                    e,
                    &p,
                    "bus",
                    &[
                        ("ide", DiskBus::Ide),
                        ("sata", DiskBus::Sata),
                        ("scsi", DiskBus::Scsi),
                        ("virtio", DiskBus::Virtio),
                        ("fdc", DiskBus::Fdc),
                        ("usb", DiskBus::Usb),
                    ],
                )?;
            }
            "readonly" => {
                leaf(e, &p, &[])?;
                disk.readonly = true;
            }
            "shareable" => {
                leaf(e, &p, &[])?;
                disk.shareable = true;
            }
            "boot" => set_once(&mut disk.boot_order, boot_order(e, &p)?, path, e)?,
            "serial" => {
                leaf(e, &p, &[])?;
                set_once(&mut disk.serial, req_text(e, &p)?, path, e)?;
            }
            "address" => set_once(&mut disk.address, parse_address(e, &p)?, path, e)?,
            _ => return Err(unsupported_element(path, e)),
        }
    }
    if !target_seen {
        return Err(Error::xml(format!(
            "XML error: <disk> has no <target dev=..> (at {path}, line {})",
            c.line
        )));
    }
    Ok(disk)
}

fn parse_controller(c: &Node, path: &str) -> Result<Controller> {
    check_attrs(c, path, &["type", "index", "model", "ports"])?;
    req_attr(c, path, "type")?;
    let controller_type = string_enum_attr(
        c,
        path,
        "type",
        &[
            "ide",
            "fdc",
            "scsi",
            "sata",
            "usb",
            "ccid",
            "virtio-serial",
            "pci",
            "isa",
            "xenbus",
        ],
    )?
    .unwrap_or_default();
    let mut ctl = Controller {
        controller_type,
        index: num_attr(c, path, "index")?,
        model: opt_string(c, "model"),
        ports: num_attr(c, path, "ports")?,
        ..Controller::default()
    };
    for e in &c.children {
        let p = child_path(path, e);
        if !is_plain(e) {
            return Err(unsupported_element(path, e));
        }
        match e.name.as_str() {
            "address" => set_once(&mut ctl.address, parse_address(e, &p)?, path, e)?,
            "model" if ctl.controller_type == "pci" => {
                leaf(e, &p, &["name"])?;
                let n = req_attr(e, &p, "name")?.to_owned();
                set_once(&mut ctl.model_name, n, path, e)?;
            }
            "target" if ctl.controller_type == "pci" => {
                leaf(e, &p, &["chassis", "port", "busNr", "hotplug"])?;
                let t = ControllerTarget {
                    chassis: num_attr(e, &p, "chassis")?,
                    port: opt_string(e, "port"),
                    bus_nr: num_attr(e, &p, "busNr")?,
                    hotplug: enum_attr(e, &p, "hotplug", &[("on", true), ("off", false)])?,
                };
                if let Some(port) = &t.port {
                    if parse_c_int(port).is_none() {
                        return Err(bad_value(e, &p, "port", port, "a number such as '0x10'"));
                    }
                }
                set_once(&mut ctl.target, t, path, e)?;
            }
            "driver" => {
                leaf(
                    e,
                    &p,
                    &[
                        "queues",
                        "cmd_per_lun",
                        "max_sectors",
                        "ioeventfd",
                        "iothread",
                    ],
                )?;
                set_once(&mut ctl.driver, e.attrs.clone(), path, e)?;
            }
            _ => return Err(unsupported_element(path, e)),
        }
    }
    Ok(ctl)
}

/// A number as libvirt writes it: decimal, or hex with `0x`.
pub(crate) fn parse_c_int(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn valid_mac(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn parse_interface(c: &Node, path: &str) -> Result<Interface> {
    check_attrs(c, path, &["type"])?;
    let t = req_attr(c, path, "type")?;
    check_supported(
        c,
        path,
        "type",
        t,
        &["user", "network", "bridge"],
        &[
            "ethernet",
            "vhostuser",
            "server",
            "client",
            "mcast",
            "udp",
            "direct",
            "hostdev",
            "vdpa",
            "null",
            "vds",
        ],
    )?;
    let mut source: Option<String> = None;
    let mut iface = Interface {
        iface_type: InterfaceType::User,
        mac: None,
        model: None,
        boot_order: None,
        address: None,
    };
    let mut source_seen = false;
    for e in &c.children {
        let p = child_path(path, e);
        if !is_plain(e) {
            return Err(unsupported_element(path, e));
        }
        match e.name.as_str() {
            "source" => {
                let attr = match t {
                    "network" => "network",
                    "bridge" => "bridge",
                    _ => return Err(unsupported_element(path, e)),
                };
                leaf(e, &p, &[attr])?;
                if source_seen {
                    return Err(duplicate(path, e));
                }
                source_seen = true;
                source = opt_string(e, attr);
            }
            "mac" => {
                leaf(e, &p, &["address"])?;
                let mac = req_attr(e, &p, "address")?;
                if !valid_mac(mac) {
                    return Err(bad_value(
                        e,
                        &p,
                        "address",
                        mac,
                        "a MAC address such as '52:54:00:12:34:56'",
                    ));
                }
                set_once(&mut iface.mac, mac.to_owned(), path, e)?;
            }
            "model" => {
                leaf(e, &p, &["type"])?;
                let m = req_attr(e, &p, "type")?;
                set_once(&mut iface.model, m.to_owned(), path, e)?;
            }
            "boot" => set_once(&mut iface.boot_order, boot_order(e, &p)?, path, e)?,
            "address" => set_once(&mut iface.address, parse_address(e, &p)?, path, e)?,
            _ => return Err(unsupported_element(path, e)),
        }
    }
    iface.iface_type = match t {
        "user" => InterfaceType::User,
        _ => {
            let Some(s) = source.filter(|s| !s.trim().is_empty()) else {
                return Err(Error::xml(format!(
                    "XML error: no <source {t}=..> given for <interface type='{t}'> (at {path}, line {})",
                    c.line
                )));
            };
            if t == "network" {
                InterfaceType::Network(s)
            } else {
                InterfaceType::Bridge(s)
            }
        }
    };
    Ok(iface)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CharKind {
    Serial,
    Console,
    Channel,
}

fn parse_chardev(c: &Node, path: &str, kind: CharKind) -> Result<Chardev> {
    check_attrs(c, path, &["type"])?;
    let t = c.attr("type").unwrap_or("pty");
    let mut supported = vec!["pty", "file", "unix", "null", "stdio"];
    if kind == CharKind::Channel {
        supported.push("spicevmc");
    }
    check_supported(
        c,
        path,
        "type",
        t,
        &supported,
        &[
            "vc",
            "dev",
            "pipe",
            "tcp",
            "udp",
            "spicevmc",
            "spiceport",
            "nmdm",
            "qemu-vdagent",
            "dbus",
        ],
    )?;
    let mut src_path: Option<String> = None;
    let mut append = None;
    let mut mode = None;
    let mut dev = Chardev::default();
    let mut source_seen = false;
    let mut target_seen = false;
    for e in &c.children {
        let p = child_path(path, e);
        if !is_plain(e) {
            return Err(unsupported_element(path, e));
        }
        match e.name.as_str() {
            "source" => {
                let allowed: &[&str] = match t {
                    // A running domain's pty source path is state, not configuration.
                    "pty" => &["path"],
                    "file" => &["path", "append"],
                    "unix" => &["path", "mode"],
                    _ => return Err(unsupported_element(path, e)),
                };
                leaf(e, &p, allowed)?;
                if source_seen {
                    return Err(duplicate(path, e));
                }
                source_seen = true;
                src_path = opt_string(e, "path");
                append = enum_attr(e, &p, "append", &[("on", true), ("off", false)])?;
                mode = enum_attr(
                    e,
                    &p,
                    "mode",
                    &[("bind", UnixMode::Bind), ("connect", UnixMode::Connect)],
                )?;
            }
            "target" => {
                let allowed: &[&str] = match kind {
                    CharKind::Channel => &["type", "name"],
                    _ => &["type", "port"],
                };
                check_attrs(e, &p, allowed)?;
                for m in &e.children {
                    let mp = child_path(&p, m);
                    match m.name.as_str() {
                        "model" if is_plain(m) && kind == CharKind::Serial => {
                            leaf(m, &mp, &["name"])?;
                            let n = string_enum_attr(
                                m,
                                &mp,
                                "name",
                                &[
                                    "isa-serial",
                                    "usb-serial",
                                    "pci-serial",
                                    "spapr-vty",
                                    "pl011",
                                    "sclpconsole",
                                    "sclplmconsole",
                                    "16550a",
                                    "isa-debugcon",
                                ],
                            )?;
                            req_attr(m, &mp, "name")?;
                            set_once(&mut dev.target_model, n.unwrap_or_default(), &p, m)?;
                        }
                        _ => return Err(unsupported_element(&p, m)),
                    }
                }
                if target_seen {
                    return Err(duplicate(path, e));
                }
                target_seen = true;
                let types: &[&str] = match kind {
                    CharKind::Serial => &[
                        "isa-serial",
                        "usb-serial",
                        "pci-serial",
                        "spapr-vio-serial",
                        "system-serial",
                        "sclp-serial",
                        "isa-debug",
                    ],
                    CharKind::Console => &[
                        "serial", "virtio", "xen", "uml", "lxc", "openvz", "sclp", "sclplm",
                    ],
                    CharKind::Channel => &["virtio"],
                };
                if let Some(tt) = e.attr("type") {
                    check_supported(e, &p, "type", tt, types, &["guestfwd", "xen"])?;
                }
                dev.target_type = opt_string(e, "type");
                dev.target_port = num_attr(e, &p, "port")?;
                dev.target_name = opt_string(e, "name");
            }
            "log" => {
                leaf(e, &p, &["file", "append"])?;
                set_once(
                    &mut dev.log_file,
                    req_attr(e, &p, "file")?.to_owned(),
                    path,
                    e,
                )?;
                dev.log_append = enum_attr(e, &p, "append", &[("on", true), ("off", false)])?;
            }
            "address" => set_once(&mut dev.address, parse_address(e, &p)?, path, e)?,
            _ => return Err(unsupported_element(path, e)),
        }
    }
    dev.source = match t {
        "pty" => ChardevSource::Pty,
        "null" => ChardevSource::Null,
        "stdio" => ChardevSource::Stdio,
        "spicevmc" => ChardevSource::Spicevmc,
        "file" => ChardevSource::File {
            path: src_path.filter(|s| !s.is_empty()).ok_or_else(|| {
                Error::xml(format!(
                    "XML error: <{} type='file'> has no <source path=..> (at {path}, line {})",
                    c.name, c.line
                ))
            })?,
            append,
        },
        // `unix` (with an empty path meaning "libvirt picks one", as for the agent channel).
        _ => ChardevSource::Unix {
            path: src_path.unwrap_or_default(),
            mode: mode.unwrap_or(UnixMode::Bind),
        },
    };
    if kind == CharKind::Channel && dev.target_type.is_none() {
        return Err(Error::xml(format!(
            "XML error: <channel> has no <target type='virtio'> (at {path}, line {})",
            c.line
        )));
    }
    Ok(dev)
}

fn parse_input(c: &Node, path: &str) -> Result<Input> {
    check_attrs(c, path, &["type", "bus"])?;
    let mut address = None;
    for e in &c.children {
        match e.name.as_str() {
            "address" if is_plain(e) => set_once(
                &mut address,
                parse_address(e, &child_path(path, e))?,
                path,
                e,
            )?,
            _ => return Err(unsupported_element(path, e)),
        }
    }
    req_attr(c, path, "type")?;
    let t = c.attr("type").unwrap_or_default();
    check_supported(
        c,
        path,
        "type",
        t,
        &["tablet", "mouse", "keyboard"],
        &["passthrough", "evdev"],
    )?;
    Ok(Input {
        input_type: t.to_owned(),
        bus: string_enum_attr(c, path, "bus", &["ps2", "usb", "virtio", "xen", "none"])?,
        address,
    })
}

fn parse_graphics(c: &Node, path: &str) -> Result<Graphics> {
    let t = req_attr(c, path, "type")?;
    check_supported(
        c,
        path,
        "type",
        t,
        &["vnc", "spice"],
        &["sdl", "rdp", "desktop", "egl-headless", "dbus"],
    )?;
    let spice = t == "spice";
    let mut allowed = vec!["type", "port", "autoport", "listen", "keymap", "passwd"];
    if spice {
        allowed.push("tlsPort");
    }
    check_attrs(c, path, &allowed)?;
    let mut ports = [None, None];
    for (slot, attr) in ports.iter_mut().zip(["port", "tlsPort"]) {
        *slot = num_attr::<i32>(c, path, attr)?;
        if let Some(p) = *slot {
            if !(-1..=65535).contains(&p) {
                return Err(bad_value(
                    c,
                    path,
                    attr,
                    &p.to_string(),
                    "-1 (automatic) or a TCP port",
                ));
            }
        }
    }
    let mut g = Graphics {
        graphics_type: t.to_owned(),
        port: ports[0],
        autoport: yes_no(c, path, "autoport")?,
        listen: opt_string(c, "listen"),
        keymap: opt_string(c, "keymap"),
        passwd: opt_string(c, "passwd"),
        tls_port: ports[1],
        image_compression: None,
    };
    let mut listen_seen = false;
    for e in &c.children {
        let p = child_path(path, e);
        match e.name.as_str() {
            "listen" if is_plain(e) => {
                leaf(e, &p, &["type", "address"])?;
                let lt = req_attr(e, &p, "type")?;
                check_supported(
                    e,
                    &p,
                    "type",
                    lt,
                    &["address"],
                    &["network", "socket", "none"],
                )?;
                if listen_seen {
                    return Err(duplicate(path, e));
                }
                listen_seen = true;
                if let Some(addr) = e.attr("address") {
                    match &g.listen {
                        Some(l) if l != addr => {
                            return Err(Error::xml(format!(
                                "XML error: graphics 'listen' attribute '{l}' must match 'address' attribute of first listen element (found '{addr}') (at {p}, line {})",
                                e.line
                            )))
                        }
                        _ => g.listen = Some(addr.to_owned()),
                    }
                }
            }
            "image" if is_plain(e) && spice => {
                leaf(e, &p, &["compression"])?;
                req_attr(e, &p, "compression")?;
                let v = string_enum_attr(
                    e,
                    &p,
                    "compression",
                    &["auto_glz", "auto_lz", "quic", "glz", "lz", "off"],
                )?;
                set_once(&mut g.image_compression, v.unwrap_or_default(), path, e)?;
            }
            _ => return Err(unsupported_element(path, e)),
        }
    }
    Ok(g)
}

fn parse_video(c: &Node, path: &str) -> Result<Video> {
    check_attrs(c, path, &[])?;
    let mut video = None;
    let mut address = None;
    for e in &c.children {
        let p = child_path(path, e);
        match e.name.as_str() {
            "address" if is_plain(e) => set_once(&mut address, parse_address(e, &p)?, path, e)?,
            "model" if is_plain(e) => {
                leaf(
                    e,
                    &p,
                    &["type", "ram", "vram", "vgamem", "heads", "primary"],
                )?;
                req_attr(e, &p, "type")?;
                let m = string_enum_attr(
                    e,
                    &p,
                    "type",
                    &[
                        "vga", "cirrus", "vmvga", "xen", "vbox", "qxl", "virtio", "gop", "bochs",
                        "ramfb", "none",
                    ],
                )?
                .unwrap_or_default();
                let v = Video {
                    model: m,
                    ram: num_attr(e, &p, "ram")?,
                    vram: num_attr(e, &p, "vram")?,
                    vgamem: num_attr(e, &p, "vgamem")?,
                    heads: num_attr(e, &p, "heads")?,
                    primary: yes_no(e, &p, "primary")?,
                    address: None,
                };
                set_once(&mut video, v, path, e)?;
            }
            _ => return Err(unsupported_element(path, e)),
        }
    }
    let mut video = video.ok_or_else(|| {
        Error::xml(format!(
            "XML error: <video> has no <model type=..> (at {path}, line {})",
            c.line
        ))
    })?;
    video.address = address;
    Ok(video)
}

fn parse_memballoon(c: &Node, path: &str) -> Result<Memballoon> {
    check_attrs(c, path, &["model"])?;
    let mut address = None;
    for e in &c.children {
        match e.name.as_str() {
            "address" if is_plain(e) => set_once(
                &mut address,
                parse_address(e, &child_path(path, e))?,
                path,
                e,
            )?,
            _ => return Err(unsupported_element(path, e)),
        }
    }
    req_attr(c, path, "model")?;
    let model = string_enum_attr(
        c,
        path,
        "model",
        &[
            "virtio",
            "xen",
            "none",
            "virtio-transitional",
            "virtio-non-transitional",
        ],
    )?
    .unwrap_or_default();
    Ok(Memballoon { model, address })
}

fn parse_rng(c: &Node, path: &str) -> Result<Rng> {
    check_attrs(c, path, &["model"])?;
    let model = req_attr(c, path, "model")?;
    check_supported(
        c,
        path,
        "model",
        model,
        &["virtio"],
        &["virtio-transitional", "virtio-non-transitional"],
    )?;
    let mut rng = None;
    let mut address = None;
    for e in &c.children {
        let p = child_path(path, e);
        match e.name.as_str() {
            "address" if is_plain(e) => set_once(&mut address, parse_address(e, &p)?, path, e)?,
            "backend" if is_plain(e) => {
                leaf(e, &p, &["model"])?;
                let bm = req_attr(e, &p, "model")?;
                check_supported(e, &p, "model", bm, &["random"], &["egd", "builtin"])?;
                let dev = text(e);
                let r = Rng {
                    model: model.to_owned(),
                    backend_model: bm.to_owned(),
                    backend_dev: (!dev.is_empty()).then_some(dev),
                    address: None,
                };
                set_once(&mut rng, r, path, e)?;
            }
            _ => return Err(unsupported_element(path, e)),
        }
    }
    let mut rng = rng.ok_or_else(|| {
        Error::xml(format!(
            "XML error: <rng> has no <backend model='random'> (at {path}, line {})",
            c.line
        ))
    })?;
    rng.address = address;
    Ok(rng)
}

fn parse_sound(c: &Node, path: &str) -> Result<Sound> {
    check_attrs(c, path, &["model"])?;
    let model = req_attr(c, path, "model")?;
    check_supported(
        c,
        path,
        "model",
        model,
        &["ich9", "ich6", "ac97"],
        &[
            "sb16",
            "es1370",
            "pcspk",
            "ich7",
            "usb",
            "ich9-ohci",
            "ics2000",
        ],
    )?;
    let mut s = Sound {
        model: model.to_owned(),
        ..Sound::default()
    };
    for e in &c.children {
        let p = child_path(path, e);
        match e.name.as_str() {
            "address" if is_plain(e) => set_once(&mut s.address, parse_address(e, &p)?, path, e)?,
            "codec" if is_plain(e) && model != "ac97" => {
                leaf(e, &p, &["type"])?;
                req_attr(e, &p, "type")?;
                let t = string_enum_attr(e, &p, "type", &["duplex", "micro", "output"])?;
                s.codecs.push(t.unwrap_or_default());
            }
            _ => return Err(unsupported_element(path, e)),
        }
    }
    Ok(s)
}

fn parse_audio(c: &Node, path: &str) -> Result<Audio> {
    leaf(c, path, &["id", "type"])?;
    req_attr(c, path, "id")?;
    let t = req_attr(c, path, "type")?;
    check_supported(
        c,
        path,
        "type",
        t,
        &["none", "spice"],
        &[
            "alsa",
            "coreaudio",
            "dbus",
            "jack",
            "oss",
            "pulseaudio",
            "sdl",
            "file",
            "pipewire",
        ],
    )?;
    let id: u32 = num_attr(c, path, "id")?.unwrap_or_default();
    if id == 0 {
        return Err(bad_value(c, path, "id", "0", "a positive integer"));
    }
    Ok(Audio {
        id,
        audio_type: t.to_owned(),
    })
}

fn parse_redirdev(c: &Node, path: &str) -> Result<Redirdev> {
    check_attrs(c, path, &["bus", "type"])?;
    let bus = req_attr(c, path, "bus")?;
    check_supported(c, path, "bus", bus, &["usb"], &[])?;
    let t = req_attr(c, path, "type")?;
    check_supported(c, path, "type", t, &["spicevmc"], &["tcp", "unix"])?;
    let mut r = Redirdev {
        bus: bus.to_owned(),
        redir_type: t.to_owned(),
        address: None,
    };
    for e in &c.children {
        let p = child_path(path, e);
        match e.name.as_str() {
            "address" if is_plain(e) => set_once(&mut r.address, parse_address(e, &p)?, path, e)?,
            _ => return Err(unsupported_element(path, e)),
        }
    }
    Ok(r)
}
