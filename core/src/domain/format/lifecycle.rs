//! `<on_poweroff>`, `<on_reboot>`, `<on_crash>` (when given) and `<pm>`.

use super::writer::{yes_no, W};
use crate::domain::model::Domain;

pub(super) fn format_lifecycle(w: &mut W, dom: &Domain) {
    for (name, action) in [
        ("on_poweroff", dom.on_poweroff),
        ("on_reboot", dom.on_reboot),
        ("on_crash", dom.on_crash),
    ] {
        if let Some(a) = action {
            w.text_el(name, &[], a.as_str());
        }
    }
    if let Some(pm) = &dom.pm {
        let empty = pm.suspend_to_mem.is_none() && pm.suspend_to_disk.is_none();
        w.element("pm", &[], empty, |w| {
            for (name, v) in [
                ("suspend-to-mem", pm.suspend_to_mem),
                ("suspend-to-disk", pm.suspend_to_disk),
            ] {
                if let Some(v) = v {
                    w.empty(name, &[("enabled", Some(yes_no(v)))]);
                }
            }
        });
    }
}
