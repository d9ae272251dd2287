//! The `controller` family: `<controller>`.

use super::common::format_address;
use crate::domain::format::writer::{num, on_off, W};
use crate::domain::model::{Controller, Devices};

pub(super) fn format_controllers(w: &mut W, d: &Devices) {
    for c in &d.controllers {
        format_controller(w, c);
    }
}

fn format_controller(w: &mut W, c: &Controller) {
    let attrs = [
        ("type", Some(c.controller_type.clone())),
        ("index", num(c.index)),
        ("model", c.model.clone()),
        ("ports", num(c.ports)),
    ];
    let empty =
        c.address.is_none() && c.model_name.is_none() && c.target.is_none() && c.driver.is_none();
    w.element("controller", &attrs, empty, |w| {
        if let Some(n) = &c.model_name {
            w.empty("model", &[("name", Some(n.clone()))]);
        }
        if let Some(t) = &c.target {
            w.empty(
                "target",
                &[
                    ("chassis", num(t.chassis)),
                    ("port", t.port.clone()),
                    ("busNr", num(t.bus_nr)),
                    ("hotplug", t.hotplug.map(on_off)),
                ],
            );
        }
        if let Some(d) = &c.driver {
            let attrs: Vec<(&str, Option<String>)> = d
                .iter()
                .map(|(k, v)| (k.as_str(), Some(v.clone())))
                .collect();
            w.empty("driver", &attrs);
        }
        format_address(w, &c.address);
    });
}
