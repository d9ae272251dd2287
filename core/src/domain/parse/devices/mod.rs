//! `<devices>` → [`Devices`]: which family parses which child element.
//!
//! Owns: the registry [`ELEMENTS`] and `<emulator>`. Each family module parses its
//! elements and adds them to [`Devices`]: `disk`, `controller`, `interface`, `chardev`
//! (serial, console, channel), `input`, `graphics` (graphics, sound, audio, video),
//! `hostdev` (redirdev), `misc` (memballoon, rng); `common` has what families share
//! (`<address>`, `<boot order>`). Device types and sub-elements oxvirt does not
//! implement are errors naming them.

mod chardev;
mod common;
mod controller;
mod disk;
mod graphics;
mod hostdev;
mod input;
mod interface;
mod misc;

use super::util::{check_attrs, leaf, plain_children, req_text, set_once, unsupported_element};
use crate::domain::model::Devices;
use crate::domain::xmltree::Node;
use crate::error::Result;

/// Parses one child of `<devices>` into [`Devices`]: (devices, the element, its path,
/// the path of `<devices>`).
type ParseFn = fn(&mut Devices, &Node, &str, &str) -> Result<()>;

/// The children of `<devices>` and the family function that parses each, in
/// libvirt's element order. A new device element is one line here.
const ELEMENTS: &[(&str, ParseFn)] = &[
    ("emulator", emulator),
    ("disk", disk::add_disk),
    ("controller", controller::add_controller),
    ("interface", interface::add_interface),
    ("serial", chardev::add_serial),
    ("console", chardev::add_console),
    ("channel", chardev::add_channel),
    ("input", input::add_input),
    ("graphics", graphics::add_graphics),
    ("sound", graphics::add_sound),
    ("audio", graphics::add_audio),
    ("video", graphics::add_video),
    ("redirdev", hostdev::add_redirdev),
    ("memballoon", misc::add_memballoon),
    ("rng", misc::add_rng),
];

pub(super) fn parse_devices(c: &Node, path: &str) -> Result<Devices> {
    check_attrs(c, path, &[])?;
    let mut d = Devices::default();
    for child in plain_children(c, path) {
        let (e, p) = child?;
        match ELEMENTS.iter().find(|(name, _)| *name == e.name) {
            Some((_, parse)) => parse(&mut d, e, &p, path)?,
            None => return Err(unsupported_element(path, e)),
        }
    }
    Ok(d)
}

/// `<emulator>PATH</emulator>`.
fn emulator(d: &mut Devices, e: &Node, p: &str, parent: &str) -> Result<()> {
    leaf(e, p, &[])?;
    set_once(&mut d.emulator, req_text(e, p)?, parent, e)
}
