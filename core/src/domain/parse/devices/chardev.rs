//! The `chardev` family: `<serial>`, `<console>` and `<channel>` — the host side
//! (`type` + `<source>`), the guest side (`<target>`), `<log>` and `<address>`.

use super::common::parse_address;
use crate::domain::model::{Chardev, ChardevSource, Devices, UnixMode};
use crate::domain::parse::util::{
    check_attrs, check_supported, enum_attr, first_time, leaf, num_attr, on_off, opt_string,
    plain_children, req_attr, set_once, string_enum_attr, unsupported_element,
};
use crate::domain::xmltree::Node;
use crate::error::{Error, Result};

pub(super) fn add_serial(d: &mut Devices, e: &Node, path: &str, _parent: &str) -> Result<()> {
    d.serials.push(parse_chardev(e, path, CharKind::Serial)?);
    Ok(())
}

pub(super) fn add_console(d: &mut Devices, e: &Node, path: &str, _parent: &str) -> Result<()> {
    d.consoles.push(parse_chardev(e, path, CharKind::Console)?);
    Ok(())
}

pub(super) fn add_channel(d: &mut Devices, e: &Node, path: &str, _parent: &str) -> Result<()> {
    d.channels.push(parse_chardev(e, path, CharKind::Channel)?);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CharKind {
    Serial,
    Console,
    Channel,
}

/// `<source>` as written; it becomes a [`ChardevSource`] once the whole device is read.
#[derive(Default)]
struct SourceAttrs {
    seen: bool,
    path: Option<String>,
    append: Option<bool>,
    mode: Option<UnixMode>,
}

fn parse_chardev(c: &Node, path: &str, kind: CharKind) -> Result<Chardev> {
    check_attrs(c, path, &["type"])?;
    let t = c.attr("type").unwrap_or("pty");
    check_source_type(c, path, t, kind)?;
    let mut src = SourceAttrs::default();
    let mut dev = Chardev::default();
    let mut target_seen = false;
    for child in plain_children(c, path) {
        let (e, p) = child?;
        match e.name.as_str() {
            "source" => parse_source(&mut src, t, e, &p, path)?,
            "target" => parse_target(&mut dev, &mut target_seen, kind, e, &p, path)?,
            "log" => {
                leaf(e, &p, &["file", "append"])?;
                let file = req_attr(e, &p, "file")?.to_owned();
                set_once(&mut dev.log_file, file, path, e)?;
                dev.log_append = on_off(e, &p, "append")?;
            }
            "address" => set_once(&mut dev.address, parse_address(e, &p)?, path, e)?,
            _ => return Err(unsupported_element(path, e)),
        }
    }
    dev.source = build_source(c, path, t, src)?;
    if kind == CharKind::Channel && dev.target_type.is_none() {
        return Err(Error::xml(format!(
            "XML error: <channel> has no <target type='virtio'> (at {path}, line {})",
            c.line
        )));
    }
    Ok(dev)
}

/// The device's `type`: the host side oxvirt can give this kind of device.
fn check_source_type(c: &Node, path: &str, t: &str, kind: CharKind) -> Result<()> {
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
    )
}

/// `<source>`: which attributes are allowed depends on the device's type `t`.
fn parse_source(src: &mut SourceAttrs, t: &str, e: &Node, p: &str, path: &str) -> Result<()> {
    let allowed: &[&str] = match t {
        // A running domain's pty source path is state, not configuration.
        "pty" => &["path"],
        "file" => &["path", "append"],
        "unix" => &["path", "mode"],
        _ => return Err(unsupported_element(path, e)),
    };
    leaf(e, p, allowed)?;
    first_time(&mut src.seen, path, e)?;
    src.path = opt_string(e, "path");
    src.append = on_off(e, p, "append")?;
    src.mode = enum_attr(
        e,
        p,
        "mode",
        &[("bind", UnixMode::Bind), ("connect", UnixMode::Connect)],
    )?;
    Ok(())
}

/// `<target type= port=>` (serial, console) or `<target type= name=>` (channel).
fn parse_target(
    dev: &mut Chardev,
    seen: &mut bool,
    kind: CharKind,
    e: &Node,
    p: &str,
    path: &str,
) -> Result<()> {
    let allowed: &[&str] = match kind {
        CharKind::Channel => &["type", "name"],
        _ => &["type", "port"],
    };
    check_attrs(e, p, allowed)?;
    for child in plain_children(e, p) {
        let (m, mp) = child?;
        match m.name.as_str() {
            "model" if kind == CharKind::Serial => parse_target_model(dev, m, &mp, p)?,
            _ => return Err(unsupported_element(p, m)),
        }
    }
    first_time(seen, path, e)?;
    if let Some(tt) = e.attr("type") {
        check_supported(e, p, "type", tt, target_types(kind), &["guestfwd", "xen"])?;
    }
    dev.target_type = opt_string(e, "type");
    dev.target_port = num_attr(e, p, "port")?;
    dev.target_name = opt_string(e, "name");
    Ok(())
}

/// The `<target type>`s libvirt knows for each kind of device.
fn target_types(kind: CharKind) -> &'static [&'static str] {
    match kind {
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
    }
}

/// A serial port's `<target><model name=..>`.
fn parse_target_model(dev: &mut Chardev, m: &Node, mp: &str, p: &str) -> Result<()> {
    leaf(m, mp, &["name"])?;
    let n = string_enum_attr(
        m,
        mp,
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
    req_attr(m, mp, "name")?;
    set_once(&mut dev.target_model, n.unwrap_or_default(), p, m)
}

/// The host side from the type and its `<source>`.
fn build_source(c: &Node, path: &str, t: &str, src: SourceAttrs) -> Result<ChardevSource> {
    Ok(match t {
        "pty" => ChardevSource::Pty,
        "null" => ChardevSource::Null,
        "stdio" => ChardevSource::Stdio,
        "spicevmc" => ChardevSource::Spicevmc,
        "file" => ChardevSource::File {
            path: src.path.filter(|s| !s.is_empty()).ok_or_else(|| {
                Error::xml(format!(
                    "XML error: <{} type='file'> has no <source path=..> (at {path}, line {})",
                    c.name, c.line
                ))
            })?,
            append: src.append,
        },
        // `unix` (with an empty path meaning "libvirt picks one", as for the agent channel).
        _ => ChardevSource::Unix {
            path: src.path.unwrap_or_default(),
            mode: src.mode.unwrap_or(UnixMode::Bind),
        },
    })
}
