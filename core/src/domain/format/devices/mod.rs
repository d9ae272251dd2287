//! `<devices>`: the order of its children ([`ORDER`]) and `<emulator>`.
//!
//! Each family module writes its elements: `disk`, `controller`, `interface`,
//! `chardev` (serial, console, channel), `input`, `graphics` (graphics, sound, audio,
//! video), `hostdev` (redirdev), `misc` (memballoon, rng); `common` has what families
//! share (`<address>`, `<boot order>`).

mod chardev;
mod common;
mod controller;
mod disk;
mod graphics;
mod hostdev;
mod input;
mod interface;
mod misc;

use super::writer::W;
use crate::domain::model::{Devices, Domain};

/// Writes every element of one kind.
type FormatFn = fn(&mut W, &Devices);

/// The children of `<devices>` in libvirt's order (`virDomainDefFormatInternal`), by
/// the family that writes them. A new device element is one line here, in its place.
const ORDER: &[FormatFn] = &[
    emulator,
    disk::format_disks,
    controller::format_controllers,
    interface::format_interfaces,
    chardev::format_serials,
    chardev::format_consoles,
    chardev::format_channels,
    input::format_inputs,
    graphics::format_graphics,
    graphics::format_sounds,
    graphics::format_audios,
    graphics::format_videos,
    hostdev::format_redirdevs,
    misc::format_memballoon,
    misc::format_rngs,
];

pub(super) fn format_devices(w: &mut W, dom: &Domain) {
    w.open("devices", &[]);
    for format in ORDER {
        format(w, &dom.devices);
    }
    w.close("devices");
}

fn emulator(w: &mut W, d: &Devices) {
    if let Some(e) = &d.emulator {
        w.text_el("emulator", &[], e);
    }
}
