//! `<features>`: acpi, apic, pae (on when present) and vmport (on/off).

use super::util::{check_attrs, leaf, on_off, plain_children, req_attr, unsupported_element};
use crate::domain::model::Features;
use crate::domain::xmltree::Node;
use crate::error::Result;

pub(super) fn parse_features(c: &Node, path: &str) -> Result<Features> {
    check_attrs(c, path, &[])?;
    let mut f = Features::default();
    for child in plain_children(c, path) {
        let (e, p) = child?;
        if e.name == "vmport" {
            leaf(e, &p, &["state"])?;
            req_attr(e, &p, "state")?;
            f.vmport = on_off(e, &p, "state")?;
            continue;
        }
        let slot = match e.name.as_str() {
            "acpi" => &mut f.acpi,
            "apic" => &mut f.apic,
            "pae" => &mut f.pae,
            _ => return Err(unsupported_element(path, e)),
        };
        leaf(e, &p, &[])?;
        *slot = true;
    }
    Ok(f)
}
