//! The `misc` family: `<memballoon>` and `<rng>`.

use super::common::{format_address, with_address};
use crate::domain::format::writer::W;
use crate::domain::model::Devices;

pub(super) fn format_memballoon(w: &mut W, d: &Devices) {
    if let Some(m) = &d.memballoon {
        let attrs = [("model", Some(m.model.clone()))];
        with_address(w, "memballoon", &attrs, &m.address);
    }
}

pub(super) fn format_rngs(w: &mut W, d: &Devices) {
    for r in &d.rngs {
        w.open("rng", &[("model", Some(r.model.clone()))]);
        let attrs = [("model", Some(r.backend_model.clone()))];
        match &r.backend_dev {
            Some(dev) => w.text_el("backend", &attrs, dev),
            None => w.empty("backend", &attrs),
        }
        format_address(w, &r.address);
        w.close("rng");
    }
}
