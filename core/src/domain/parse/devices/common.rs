//! What many device families share: `<address>` (kept verbatim) and `<boot order>`.

use crate::domain::model::Address;
use crate::domain::parse::util::{
    bad_value, leaf, no_children, num_attr, plain_children, req_attr, set_once, unsupported_element,
};
use crate::domain::xmltree::Node;
use crate::error::{Error, Result};

pub(super) fn parse_address(e: &Node, path: &str) -> Result<Address> {
    no_children(e, path)?;
    req_attr(e, path, "type")?;
    // Kept verbatim, so only plain attribute names: a prefixed one would need its
    // namespace declaration when formatted.
    if let Some((k, _)) = e.attrs.iter().find(|(k, _)| k.contains(':')) {
        return Err(Error::unsupported(format!(
            "unsupported configuration: attribute '{k}' of <address> is not supported by oxvirt yet (at {path}, line {})",
            e.line
        )));
    }
    Ok(Address {
        attrs: e.attrs.clone(),
    })
}

/// A device whose only child may be one `<address>`.
pub(super) fn address_only(c: &Node, path: &str) -> Result<Option<Address>> {
    let mut address = None;
    for child in plain_children(c, path) {
        let (e, p) = child?;
        match e.name.as_str() {
            "address" => set_once(&mut address, parse_address(e, &p)?, path, e)?,
            _ => return Err(unsupported_element(path, e)),
        }
    }
    Ok(address)
}

/// A device made of one required `<child>`, which `parse` reads, and an optional
/// `<address>` (`<video><model>`, `<rng><backend>`); `missing` names the child in the
/// error when it is absent, e.g. `<model type=..>`.
pub(super) fn one_child_and_address<T>(
    c: &Node,
    path: &str,
    child: &str,
    missing: &str,
    mut parse: impl FnMut(&Node, &str) -> Result<T>,
) -> Result<(T, Option<Address>)> {
    let mut found = None;
    let mut address = None;
    for item in plain_children(c, path) {
        let (e, p) = item?;
        match e.name.as_str() {
            "address" => set_once(&mut address, parse_address(e, &p)?, path, e)?,
            name if name == child => set_once(&mut found, parse(e, &p)?, path, e)?,
            _ => return Err(unsupported_element(path, e)),
        }
    }
    let found = found.ok_or_else(|| {
        Error::xml(format!(
            "XML error: <{}> has no {missing} (at {path}, line {})",
            c.name, c.line
        ))
    })?;
    Ok((found, address))
}

/// `<boot order=N>` of a bootable device: N at least 1.
pub(super) fn boot_order(e: &Node, path: &str) -> Result<u32> {
    leaf(e, path, &["order"])?;
    req_attr(e, path, "order")?;
    match num_attr::<u32>(e, path, "order")? {
        Some(n) if n > 0 => Ok(n),
        _ => Err(bad_value(
            e,
            path,
            "order",
            e.attr("order").unwrap_or_default(),
            "a positive integer",
        )),
    }
}
