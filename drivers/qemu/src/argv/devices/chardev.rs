//! `<serial>`, `<console>`, `<channel>` → `-chardev` + `-device`, as libvirt 9.
//!
//! Serial ports become `isa-serial` (ids `charserialN`/`serialN`, N = target port). A
//! `<console>` of target type serial is the same port as serial 0 and adds nothing; a
//! console without any serial becomes serial 0 (libvirt's post-parse does that). Virtio
//! consoles become `virtconsole` and virtio channels `virtserialport` on the
//! `virtio-serial-pci` controller (`virtio-serial0`, which the controller family adds:
//! `plan.needs.virtio_serial`). A `<channel type='unix'><source mode='bind'/>` without
//! a path (what virt-install writes for the guest agent) gets a socket in the VM's
//! private directory, `DOMAIN_DIR/TARGET_NAME` (or `channelN`), as libvirt picks one.
//! `spicevmc` is refused (no SPICE).

use crate::argv::plan::Plan;
use crate::argv::props::{kv_escape, Args, Props};
use oxvirt_core::domain::{Chardev, ChardevSource, UnixMode};
use oxvirt_core::{Error, Result};
use std::borrow::Cow;
use std::path::Path;

/// The `-chardev` value for `c` with id `id`; `what` names the device in errors.
pub fn chardev_value(c: &Chardev, id: &str, what: &str) -> Result<String> {
    let mut s = match &c.source {
        ChardevSource::Pty => format!("pty,id={id}"),
        ChardevSource::Null => format!("null,id={id}"),
        ChardevSource::Stdio => format!("stdio,id={id}"),
        ChardevSource::File { path, append } => {
            let mut s = format!("file,id={id},path={}", kv_escape(path));
            match append {
                Some(true) => s.push_str(",append=on"),
                Some(false) => s.push_str(",append=off"),
                None => {}
            }
            s
        }
        ChardevSource::Unix { path, mode } => {
            if path.is_empty() {
                return Err(Error::xml(format!(
                    "{what}: <source mode=.. path=..> needs a socket path"
                )));
            }
            let mut s = format!("socket,id={id},path={}", kv_escape(path));
            if *mode == UnixMode::Bind {
                s.push_str(",server=on,wait=off");
            }
            s
        }
        ChardevSource::Spicevmc => {
            return Err(Error::unsupported(format!(
                "{what}: type 'spicevmc' needs SPICE, which is not supported"
            )))
        }
    };
    if let Some(log) = &c.log_file {
        s.push_str(&format!(",logfile={}", kv_escape(log)));
        if let Some(append) = c.log_append {
            s.push_str(if append {
                ",logappend=on"
            } else {
                ",logappend=off"
            });
        }
    }
    Ok(s)
}

/// `-chardev` for `c` (id `id`) and then the guest device `dev` that uses it.
fn backend_and_device(a: &mut Args, c: &Chardev, id: &str, what: &str, dev: &Props) -> Result<()> {
    a.opt("-chardev", chardev_value(c, id, what)?);
    a.json("-device", dev);
    Ok(())
}

/// Serial ports (libvirt's `qemuBuildSerialCommandLine`), with a serial console as
/// serial 0 when there is no `<serial>`.
pub(crate) fn serials(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    let d = &p.dom.devices;
    // A console of target type serial (the default) is serial 0's twin.
    let mut serials: Vec<&Chardev> = d.serials.iter().collect();
    if serials.is_empty() {
        if let Some(first) = d.consoles.first().filter(|c| serial_console(c)) {
            serials.push(first);
        }
    }
    let mut ports = std::collections::HashSet::new();
    for (i, s) in serials.iter().enumerate() {
        let port = s.target_port.unwrap_or(i as u32);
        let what = format!("serial port {port}");
        match s.target_type.as_deref() {
            None | Some("isa-serial") | Some("serial") => {}
            Some(t) => {
                return Err(Error::unsupported(format!(
                    "{what}: <target type='{t}'> is not supported; use type 'isa-serial'"
                )))
            }
        }
        if port > 3 {
            return Err(Error::unsupported(format!(
                "{what}: the ISA bus has 4 serial ports (port 0..3)"
            )));
        }
        if !ports.insert(port) {
            return Err(Error::xml(format!("{what}: used by two <serial> elements")));
        }
        let id = format!("charserial{port}");
        let dev = Props::new()
            .with("driver", "isa-serial")
            .with("chardev", id.as_str())
            .with("id", format!("serial{port}"))
            .with("index", port);
        backend_and_device(a, s, &id, &what, &dev)?;
    }
    Ok(())
}

fn serial_console(c: &Chardev) -> bool {
    matches!(c.target_type.as_deref(), None | Some("serial"))
}

/// Virtio channels (libvirt's `qemuBuildChannelsCommandLine`).
pub(crate) fn channels(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    let mut nr = 0u32;
    for (i, c) in p.dom.devices.channels.iter().enumerate() {
        let what = format!("channel {i}");
        let t = c.target_type.as_deref().unwrap_or("virtio");
        if t != "virtio" {
            return Err(Error::unsupported(format!(
                "{what}: <target type='{t}'> is not supported; use type 'virtio'"
            )));
        }
        let c = with_socket_path(c, i, p.ctx.domain_dir);
        let id = format!("charchannel{i}");
        nr += 1;
        let dev = Props::new()
            .with("driver", "virtserialport")
            .with("bus", "virtio-serial0.0")
            .with("nr", nr)
            .with("chardev", id.as_str())
            .with("id", format!("channel{i}"))
            .with_opt("name", c.target_name.as_deref());
        backend_and_device(a, &c, &id, &what, &dev)?;
    }
    Ok(())
}

/// Channel `i` with a socket path in `domain_dir` when it is a listening unix socket
/// without one.
fn with_socket_path<'c>(c: &'c Chardev, i: usize, domain_dir: &Path) -> Cow<'c, Chardev> {
    if !matches!(&c.source, ChardevSource::Unix { path, mode: UnixMode::Bind } if path.is_empty()) {
        return Cow::Borrowed(c);
    }
    let name = c
        .target_name
        .clone()
        .filter(|n| !n.is_empty() && !n.contains('/'))
        .unwrap_or_else(|| format!("channel{i}"));
    let mut filled = c.clone();
    filled.source = ChardevSource::Unix {
        path: domain_dir.join(name).to_string_lossy().into_owned(),
        mode: UnixMode::Bind,
    };
    Cow::Owned(filled)
}

/// Consoles (libvirt's `qemuBuildConsoleCommandLine`): the first may be serial 0's
/// twin, the others are virtio.
pub(crate) fn consoles(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    for (i, c) in p.dom.devices.consoles.iter().enumerate() {
        match c.target_type.as_deref() {
            None | Some("serial") => {
                if i == 0 {
                    continue; // serial 0 itself (or made into it by `serials`)
                }
                return Err(Error::unsupported(format!(
                    "console {i}: only the first console may be of target type 'serial'; use <serial> for more ports"
                )));
            }
            Some("virtio") => {
                let what = format!("console {i}");
                let id = format!("charconsole{i}");
                let dev = Props::new()
                    .with("driver", "virtconsole")
                    .with("chardev", id.as_str())
                    .with("id", format!("console{i}"));
                backend_and_device(a, c, &id, &what, &dev)?;
            }
            Some(t) => {
                return Err(Error::unsupported(format!(
                    "console {i}: <target type='{t}'> is not supported; use 'serial' or 'virtio'"
                )))
            }
        }
    }
    Ok(())
}
