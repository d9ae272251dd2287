//! `<seclabel>`: at domain level and inside a disk's `<source>`.

use super::util::{
    check_attrs, leaf, opt_string, plain_children, req_text, set_once, string_enum_attr,
    unsupported_element, yes_no,
};
use crate::domain::model::SecLabel;
use crate::domain::xmltree::Node;
use crate::error::Result;

/// `<seclabel>`: domain level (`domain_level`: `type`, `<imagelabel>`, `<baselabel>`
/// allowed) or per disk.
pub(super) fn parse_seclabel(c: &Node, path: &str, domain_level: bool) -> Result<SecLabel> {
    if domain_level {
        check_attrs(c, path, &["type", "model", "relabel"])?;
    } else {
        check_attrs(c, path, &["model", "relabel"])?;
    }
    let mut s = SecLabel {
        label_type: string_enum_attr(c, path, "type", &["dynamic", "static", "none"])?,
        model: opt_string(c, "model"),
        relabel: yes_no(c, path, "relabel")?,
        ..SecLabel::default()
    };
    for child in plain_children(c, path) {
        let (e, p) = child?;
        let slot = match e.name.as_str() {
            "label" => &mut s.label,
            "imagelabel" if domain_level => &mut s.imagelabel,
            "baselabel" if domain_level => &mut s.baselabel,
            _ => return Err(unsupported_element(path, e)),
        };
        leaf(e, &p, &[])?;
        set_once(slot, req_text(e, &p)?, path, e)?;
    }
    Ok(s)
}
