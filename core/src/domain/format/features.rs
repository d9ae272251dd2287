//! `<features>`: written only when one is on (or vmport is given).

use super::writer::{on_off, W};
use crate::domain::model::Domain;

pub(super) fn format_features(w: &mut W, dom: &Domain) {
    let f = &dom.features;
    if !(f.acpi || f.apic || f.pae || f.vmport.is_some()) {
        return;
    }
    w.open("features", &[]);
    for (on, name) in [(f.acpi, "acpi"), (f.apic, "apic"), (f.pae, "pae")] {
        if on {
            w.empty(name, &[]);
        }
    }
    if let Some(v) = f.vmport {
        w.empty("vmport", &[("state", Some(on_off(v)))]);
    }
    w.close("features");
}
