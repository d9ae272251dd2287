//! `<name>`, `<uuid>`, `<title>`, `<description>`: what names the domain.

use uuid::Uuid;

use super::util::{leaf, text};
use crate::domain::xmltree::Node;
use crate::error::{Error, Result};

pub(super) fn parse_name(c: &Node, path: &str) -> Result<String> {
    leaf(c, path, &[])?;
    Ok(text(c))
}

/// The name a define must have: present, not empty, no `/`.
pub(super) fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::xml(
            "XML error: domain name is missing or empty: add <name>NAME</name> to <domain>",
        ));
    }
    if name.contains('/') {
        return Err(Error::xml(format!(
            "XML error: name {name} cannot contain '/'"
        )));
    }
    Ok(())
}

pub(super) fn parse_uuid(c: &Node, path: &str) -> Result<Uuid> {
    leaf(c, path, &[])?;
    let t = text(c);
    let hex: String = t.chars().filter(|ch| *ch != '-').collect();
    let ok = hex.len() == 32 && hex.chars().all(|ch| ch.is_ascii_hexdigit());
    match (ok, Uuid::try_parse(&hex)) {
        (true, Ok(u)) => Ok(u),
        _ => Err(Error::xml(format!(
            "XML error: malformed uuid '{t}' in <uuid> (at {path}, line {}): expected 32 hex digits such as 'c7a5fdbd-cdaf-9455-926a-d65c16db1809'",
            c.line
        ))),
    }
}

pub(super) fn parse_title(c: &Node, path: &str) -> Result<String> {
    leaf(c, path, &[])?;
    let t = text(c);
    if t.contains('\n') {
        return Err(Error::xml(format!(
            "XML error: title of domain must not contain newlines (at {path}, line {})",
            c.line
        )));
    }
    Ok(t)
}

pub(super) fn parse_description(c: &Node, path: &str) -> Result<String> {
    leaf(c, path, &[])?;
    Ok(text(c))
}
