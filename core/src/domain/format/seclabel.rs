//! `<seclabel>`: the domain's (with `type`) and a disk source's.

use super::writer::{yes_no, W};
use crate::domain::model::{Domain, SecLabel};

pub(super) fn format_seclabels(w: &mut W, dom: &Domain) {
    for s in &dom.seclabels {
        format_seclabel(w, s, true);
    }
}

/// One `<seclabel>`; `domain_level` writes its `type`.
pub(super) fn format_seclabel(w: &mut W, s: &SecLabel, domain_level: bool) {
    let mut attrs = vec![];
    if domain_level {
        attrs.push(("type", s.label_type.clone()));
    }
    attrs.push(("model", s.model.clone()));
    attrs.push(("relabel", s.relabel.map(yes_no)));
    let kids = [
        ("label", &s.label),
        ("imagelabel", &s.imagelabel),
        ("baselabel", &s.baselabel),
    ];
    let empty = kids.iter().all(|(_, v)| v.is_none());
    w.element("seclabel", &attrs, empty, |w| {
        for (name, v) in kids {
            if let Some(v) = v {
                w.text_el(name, &[], v);
            }
        }
    });
}
