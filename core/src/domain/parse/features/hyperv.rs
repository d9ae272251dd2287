//! `<features><hyperv mode=..>`: the enlightenments libvirt 9.0 knows
//! ([`HYPERV_FEATURES`]), each with a required `state`; `spinlocks retries`,
//! `vendor_id value` and `stimer`'s `<direct>` checked as libvirt checks them.

use super::super::util::{
    bad_value, check_attrs, leaf, num_attr, on_off, plain_children, req_attr, string_enum_attr,
    unsupported_element,
};
use crate::domain::model::{Hyperv, HypervFeature, HYPERV_FEATURES};
use crate::domain::xmltree::Node;
use crate::error::{Error, Result};

/// Enlightenments newer libvirt knows and 9.0 refuses.
const NEWER: &[&str] = &["emsr_bitmap", "xmm_input"];

pub(super) fn parse_hyperv(e: &Node, p: &str) -> Result<Hyperv> {
    check_attrs(e, p, &["mode"])?;
    let mut h = Hyperv {
        mode: string_enum_attr(e, p, "mode", &["custom", "passthrough"])?,
        features: Vec::new(),
    };
    for child in plain_children(e, p) {
        let (c, cp) = child?;
        if NEWER.contains(&c.name.as_str()) {
            return Err(Error::unsupported(format!(
                "unsupported configuration: unsupported HyperV Enlightenment feature: {} (libvirt 9.0 does not know it) (at {cp}, line {})",
                c.name, c.line
            )));
        }
        if !HYPERV_FEATURES.iter().any(|(n, _)| *n == c.name) {
            return Err(unsupported_element(p, c));
        }
        if h.features.iter().any(|f| f.name == c.name) {
            return Err(super::super::util::duplicate(p, c));
        }
        h.features.push(parse_one(c, &cp)?);
    }
    Ok(h)
}

fn parse_one(c: &Node, cp: &str) -> Result<HypervFeature> {
    let extra: &[&str] = match c.name.as_str() {
        "spinlocks" => &["state", "retries"],
        "vendor_id" => &["state", "value"],
        _ => &["state"],
    };
    check_attrs(c, cp, extra)?;
    req_attr(c, cp, "state")?;
    let mut f = HypervFeature {
        name: c.name.clone(),
        state: on_off(c, cp, "state")?.unwrap_or_default(),
        retries: num_attr(c, cp, "retries")?,
        value: c.attr("value").map(str::to_owned),
        direct: None,
    };
    for child in plain_children(c, cp) {
        let (d, dp) = child?;
        if c.name != "stimer" || d.name != "direct" || f.direct.is_some() {
            return Err(unsupported_element(cp, d));
        }
        leaf(d, &dp, &["state"])?;
        req_attr(d, &dp, "state")?;
        f.direct = on_off(d, &dp, "state")?;
    }
    if f.state && c.name == "spinlocks" {
        match f.retries {
            None => return Err(super::super::util::missing_attr(c, cp, "retries")),
            Some(r) if r < 4095 => {
                return Err(bad_value(c, cp, "retries", &r.to_string(), "at least 4095"))
            }
            _ => {}
        }
    }
    if f.state && c.name == "vendor_id" {
        let v = req_attr(c, cp, "value")?;
        if v.len() > 12 || !v.chars().all(|ch| ch.is_ascii_graphic() || ch == ' ') {
            return Err(bad_value(
                c,
                cp,
                "value",
                v,
                "at most 12 printable characters",
            ));
        }
    }
    Ok(f)
}
