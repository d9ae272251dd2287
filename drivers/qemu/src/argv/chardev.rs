//! `<serial>`, `<console>`, `<channel>` → `-chardev` + `-device`, as libvirt 9.
//!
//! Serial ports become `isa-serial` (ids `charserialN`/`serialN`, N = target port). A
//! `<console>` of target type serial is the same port as serial 0 and adds nothing; a
//! console without any serial becomes serial 0 (libvirt's post-parse does that). Virtio
//! consoles become `virtconsole` and virtio channels `virtserialport` on an implicit
//! `virtio-serial-pci` controller (`virtio-serial0`). `spicevmc` is refused (no SPICE).

use super::props::{kv_escape, Props};
use super::Args;
use oxvirt_core::domain::{Chardev, ChardevSource, Domain, UnixMode};
use oxvirt_core::{Error, Result};

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

/// Whether a channel or console needs the virtio-serial controller.
pub fn needs_virtio_serial(dom: &Domain) -> bool {
    dom.devices
        .channels
        .iter()
        .any(|c| c.target_type.as_deref().unwrap_or("virtio") == "virtio")
        || dom
            .devices
            .consoles
            .iter()
            .any(|c| c.target_type.as_deref() == Some("virtio"))
}

pub(crate) fn build(dom: &Domain, a: &mut Args) -> Result<()> {
    let d = &dom.devices;
    // A console of target type serial (the default) is serial 0's twin.
    let mut serials: Vec<&Chardev> = d.serials.iter().collect();
    let serial_console = |c: &&Chardev| matches!(c.target_type.as_deref(), None | Some("serial"));
    if serials.is_empty() {
        if let Some(first) = d.consoles.first().filter(serial_console) {
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
        a.opt("-chardev", chardev_value(s, &id, &what)?);
        a.json(
            "-device",
            &Props::new()
                .with("driver", "isa-serial")
                .with("chardev", id.as_str())
                .with("id", format!("serial{port}"))
                .with("index", port),
        );
    }

    let mut nr = 0u32;
    for (i, c) in d.channels.iter().enumerate() {
        let what = format!("channel {i}");
        let t = c.target_type.as_deref().unwrap_or("virtio");
        if t != "virtio" {
            return Err(Error::unsupported(format!(
                "{what}: <target type='{t}'> is not supported; use type 'virtio'"
            )));
        }
        let id = format!("charchannel{i}");
        a.opt("-chardev", chardev_value(c, &id, &what)?);
        nr += 1;
        a.json(
            "-device",
            &Props::new()
                .with("driver", "virtserialport")
                .with("bus", "virtio-serial0.0")
                .with("nr", nr)
                .with("chardev", id.as_str())
                .with("id", format!("channel{i}"))
                .with_opt("name", c.target_name.as_deref()),
        );
    }

    for (i, c) in d.consoles.iter().enumerate() {
        match c.target_type.as_deref() {
            None | Some("serial") => {
                if i == 0 {
                    continue; // serial 0 itself (or made into it above)
                }
                return Err(Error::unsupported(format!(
                    "console {i}: only the first console may be of target type 'serial'; use <serial> for more ports"
                )));
            }
            Some("virtio") => {
                let what = format!("console {i}");
                let id = format!("charconsole{i}");
                a.opt("-chardev", chardev_value(c, &id, &what)?);
                a.json(
                    "-device",
                    &Props::new()
                        .with("driver", "virtconsole")
                        .with("chardev", id.as_str())
                        .with("id", format!("console{i}")),
                );
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
