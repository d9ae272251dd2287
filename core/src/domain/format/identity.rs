//! `<name>`, `<uuid>` (always), `<title>`, `<description>`.

use super::writer::W;
use crate::domain::model::Domain;

pub(super) fn format_identity(w: &mut W, dom: &Domain) {
    w.text_el("name", &[], &dom.name);
    w.text_el("uuid", &[], &dom.uuid.hyphenated().to_string());
    if let Some(t) = &dom.title {
        w.text_el("title", &[], t);
    }
    if let Some(d) = &dom.description {
        w.text_el("description", &[], d);
    }
}
