//! The `chardev` family: `<serial>`, `<console>`, `<channel>`.

use super::common::format_address;
use crate::domain::format::writer::{num, on_off, W};
use crate::domain::model::{Chardev, ChardevSource, Devices, UnixMode};

pub(super) fn format_serials(w: &mut W, d: &Devices) {
    for s in &d.serials {
        format_chardev(w, "serial", s);
    }
}

pub(super) fn format_consoles(w: &mut W, d: &Devices) {
    for s in &d.consoles {
        format_chardev(w, "console", s);
    }
}

pub(super) fn format_channels(w: &mut W, d: &Devices) {
    for s in &d.channels {
        format_chardev(w, "channel", s);
    }
}

/// The `type` and `<source>` attributes of the host side.
fn source(c: &Chardev) -> (&'static str, Vec<(&'static str, Option<String>)>) {
    match &c.source {
        ChardevSource::Pty => ("pty", vec![]),
        ChardevSource::Null => ("null", vec![]),
        ChardevSource::Stdio => ("stdio", vec![]),
        ChardevSource::Spicevmc => ("spicevmc", vec![]),
        ChardevSource::File { path, append } => (
            "file",
            vec![("path", Some(path.clone())), ("append", append.map(on_off))],
        ),
        ChardevSource::Unix { path, mode } => {
            let mode = match mode {
                UnixMode::Bind => "bind",
                UnixMode::Connect => "connect",
            };
            (
                "unix",
                vec![
                    ("mode", Some(mode.to_owned())),
                    ("path", (!path.is_empty()).then(|| path.clone())),
                ],
            )
        }
    }
}

fn format_chardev(w: &mut W, name: &str, c: &Chardev) {
    let (ty, source) = source(c);
    w.open(name, &[("type", Some(ty.to_owned()))]);
    if !source.is_empty() {
        w.empty("source", &source);
    }
    if let Some(f) = &c.log_file {
        w.empty(
            "log",
            &[
                ("file", Some(f.clone())),
                ("append", c.log_append.map(on_off)),
            ],
        );
    }
    let target = [
        ("type", c.target_type.clone()),
        ("port", num(c.target_port)),
        ("name", c.target_name.clone()),
    ];
    match &c.target_model {
        Some(m) => {
            w.open("target", &target);
            w.empty("model", &[("name", Some(m.clone()))]);
            w.close("target");
        }
        None if target.iter().any(|(_, v)| v.is_some()) => w.empty("target", &target),
        None => {}
    }
    format_address(w, &c.address);
    w.close(name);
}
