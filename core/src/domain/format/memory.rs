//! `<memory>` and `<currentMemory>`, in KiB.

use super::writer::W;
use crate::domain::model::Domain;

pub(super) fn format_memory(w: &mut W, dom: &Domain) {
    let kib = || Some("KiB".to_owned());
    w.text_el("memory", &[("unit", kib())], &dom.memory_kib.to_string());
    if let Some(c) = dom.current_memory_kib {
        w.text_el("currentMemory", &[("unit", kib())], &c.to_string());
    }
}
