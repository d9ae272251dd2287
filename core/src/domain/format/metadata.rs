//! `<metadata>`: each kept element written back verbatim.

use super::writer::W;
use crate::domain::model::Domain;

pub(super) fn format_metadata(w: &mut W, dom: &Domain) {
    if let Some(md) = &dom.metadata {
        w.element("metadata", &[], md.elements.is_empty(), |w| {
            for e in &md.elements {
                w.raw(e);
            }
        });
    }
}
