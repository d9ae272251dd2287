//! Helpers shared by the domain parser: walking child elements, attribute lookup with
//! strict checking, enum and number parsing, and the error messages that name the
//! element, the attribute and the path of what was rejected. Nothing here knows a
//! libvirt element; the section and family modules do.

use crate::domain::xmltree::{Node, Ns};
use crate::error::{Error, Result};

/// Where an element sits, e.g. `/domain/devices/disk`.
pub fn child_path(parent: &str, child: &Node) -> String {
    format!("{parent}/{}", child.display_name())
}

/// The local name of the last component of a path, for messages (`<devices>`).
fn last(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A child element oxvirt does not implement (or libvirt does not know).
pub fn unsupported_element(parent_path: &str, child: &Node) -> Error {
    Error::unsupported(format!(
        "unsupported configuration: element <{}> in <{}> is not supported by oxvirt yet (at {}, line {})",
        child.display_name(),
        last(parent_path),
        child_path(parent_path, child),
        child.line
    ))
}

/// Reject every attribute not in `allowed`.
pub fn check_attrs(node: &Node, path: &str, allowed: &[&str]) -> Result<()> {
    for (k, _) in &node.attrs {
        if !allowed.contains(&k.as_str()) {
            return Err(Error::unsupported(format!(
                "unsupported configuration: attribute '{k}' of <{}> is not supported by oxvirt yet (at {path}, line {})",
                node.display_name(),
                node.line
            )));
        }
    }
    Ok(())
}

/// Reject any child element (for leaf elements such as `<boot>` or `<target>`).
pub fn no_children(node: &Node, path: &str) -> Result<()> {
    match node.children.first() {
        Some(c) => Err(unsupported_element(path, c)),
        None => Ok(()),
    }
}

/// Check attributes and that there are no child elements.
pub fn leaf(node: &Node, path: &str, allowed: &[&str]) -> Result<()> {
    check_attrs(node, path, allowed)?;
    no_children(node, path)
}

pub fn missing_attr(node: &Node, path: &str, attr: &str) -> Error {
    Error::xml(format!(
        "XML error: missing attribute '{attr}' of <{}> (at {path}, line {})",
        node.display_name(),
        node.line
    ))
}

pub fn req_attr<'a>(node: &'a Node, path: &str, attr: &str) -> Result<&'a str> {
    match node.attr(attr) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(missing_attr(node, path, attr)),
    }
}

pub fn opt_string(node: &Node, attr: &str) -> Option<String> {
    node.attr(attr).map(str::to_owned)
}

/// A bad value for an attribute: names the attribute, the element and what is allowed.
pub fn bad_value(node: &Node, path: &str, attr: &str, value: &str, allowed: &str) -> Error {
    Error::xml(format!(
        "XML error: invalid value '{value}' for attribute '{attr}' of <{}> (at {path}, line {}): expected {allowed}",
        node.display_name(),
        node.line
    ))
}

/// Map an attribute value through a table of allowed values.
pub fn enum_attr<T: Copy>(
    node: &Node,
    path: &str,
    attr: &str,
    table: &[(&str, T)],
) -> Result<Option<T>> {
    let Some(v) = node.attr(attr) else {
        return Ok(None);
    };
    for (name, val) in table {
        if *name == v {
            return Ok(Some(*val));
        }
    }
    let allowed: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
    Err(bad_value(node, path, attr, v, &one_of(&allowed)))
}

/// Check a string attribute against a list of allowed values and return it owned.
pub fn string_enum_attr(
    node: &Node,
    path: &str,
    attr: &str,
    allowed: &[&str],
) -> Result<Option<String>> {
    let table: Vec<(&str, &str)> = allowed.iter().map(|a| (*a, *a)).collect();
    Ok(enum_attr(node, path, attr, &table)?.map(str::to_owned))
}

/// A value libvirt knows but oxvirt does not implement, or that nobody knows.
pub fn check_supported(
    node: &Node,
    path: &str,
    attr: &str,
    value: &str,
    supported: &[&str],
    libvirt_only: &[&str],
) -> Result<()> {
    if supported.contains(&value) {
        Ok(())
    } else if libvirt_only.contains(&value) {
        Err(Error::unsupported(format!(
            "unsupported configuration: {attr}='{value}' of <{}> is not supported by oxvirt yet (at {path}, line {}); supported: {}",
            node.display_name(),
            node.line,
            supported.join(", ")
        )))
    } else {
        Err(bad_value(node, path, attr, value, &one_of(supported)))
    }
}

/// A required attribute whose value oxvirt must support (see [`check_supported`]).
pub fn req_supported<'a>(
    node: &'a Node,
    path: &str,
    attr: &str,
    supported: &[&str],
    libvirt_only: &[&str],
) -> Result<&'a str> {
    let v = req_attr(node, path, attr)?;
    check_supported(node, path, attr, v, supported, libvirt_only)?;
    Ok(v)
}

pub fn one_of(allowed: &[&str]) -> String {
    let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
    format!("one of {}", quoted.join(", "))
}

pub fn yes_no(node: &Node, path: &str, attr: &str) -> Result<Option<bool>> {
    enum_attr(node, path, attr, &[("yes", true), ("no", false)])
}

/// An `on|off` attribute (libvirt's "virTristateSwitch").
pub fn on_off(node: &Node, path: &str, attr: &str) -> Result<Option<bool>> {
    enum_attr(node, path, attr, &[("on", true), ("off", false)])
}

/// A number as libvirt writes it: decimal, or hex with `0x`.
pub fn parse_c_int(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

pub fn num_attr<T: std::str::FromStr>(node: &Node, path: &str, attr: &str) -> Result<Option<T>> {
    let Some(v) = node.attr(attr) else {
        return Ok(None);
    };
    v.trim()
        .parse::<T>()
        .map(Some)
        .map_err(|_| bad_value(node, path, attr, v, "a number"))
}

/// The trimmed text of an element.
pub fn text(node: &Node) -> String {
    node.text.trim().to_owned()
}

/// The trimmed text, which must not be empty.
pub fn req_text(node: &Node, path: &str) -> Result<String> {
    let t = text(node);
    if t.is_empty() {
        return Err(Error::xml(format!(
            "XML error: element <{}> must not be empty (at {path}, line {})",
            node.display_name(),
            node.line
        )));
    }
    Ok(t)
}

/// Error for an element that may appear only once.
pub fn duplicate(parent_path: &str, child: &Node) -> Error {
    Error::xml(format!(
        "XML error: element <{}> appears more than once in <{}> (at {}, line {})",
        child.display_name(),
        last(parent_path),
        child_path(parent_path, child),
        child.line
    ))
}

/// Mark a once-only child element as seen, rejecting a second occurrence.
pub fn first_time(seen: &mut bool, parent_path: &str, child: &Node) -> Result<()> {
    if *seen {
        return Err(duplicate(parent_path, child));
    }
    *seen = true;
    Ok(())
}

/// Set a singleton slot, rejecting a second occurrence.
pub fn set_once<T>(slot: &mut Option<T>, value: T, parent_path: &str, child: &Node) -> Result<()> {
    if slot.is_some() {
        return Err(duplicate(parent_path, child));
    }
    *slot = Some(value);
    Ok(())
}

/// Is this a plain libvirt element (no namespace)?
pub fn is_plain(node: &Node) -> bool {
    node.ns == Ns::None
}

/// Each child element of `node` with its path. A namespaced child is refused as an
/// unsupported element: libvirt's own elements have no namespace.
pub fn plain_children<'a>(
    node: &'a Node,
    path: &'a str,
) -> impl Iterator<Item = Result<(&'a Node, String)>> + 'a {
    node.children.iter().map(move |c| {
        if is_plain(c) {
            Ok((c, child_path(path, c)))
        } else {
            Err(unsupported_element(path, c))
        }
    })
}
