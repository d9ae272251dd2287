//! The `input` family: `<input>`.

use super::common::with_address;
use crate::domain::format::writer::W;
use crate::domain::model::Devices;

pub(super) fn format_inputs(w: &mut W, d: &Devices) {
    for i in &d.inputs {
        let attrs = [("type", Some(i.input_type.clone())), ("bus", i.bus.clone())];
        with_address(w, "input", &attrs, &i.address);
    }
}
