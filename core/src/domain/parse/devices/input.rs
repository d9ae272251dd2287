//! The `input` family: `<input type= bus=>`.

use super::common::address_only;
use crate::domain::model::{Devices, Input};
use crate::domain::parse::util::{check_attrs, req_supported, string_enum_attr};
use crate::domain::xmltree::Node;
use crate::error::Result;

pub(super) fn add_input(d: &mut Devices, e: &Node, path: &str, _parent: &str) -> Result<()> {
    d.inputs.push(parse_input(e, path)?);
    Ok(())
}

fn parse_input(c: &Node, path: &str) -> Result<Input> {
    check_attrs(c, path, &["type", "bus"])?;
    let address = address_only(c, path)?;
    let t = req_supported(
        c,
        path,
        "type",
        &["tablet", "mouse", "keyboard"],
        &["passthrough", "evdev"],
    )?;
    Ok(Input {
        input_type: t.to_owned(),
        bus: string_enum_attr(c, path, "bus", &["ps2", "usb", "virtio", "xen", "none"])?,
        address,
    })
}
