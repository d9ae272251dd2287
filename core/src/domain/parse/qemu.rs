//! The `qemu:` namespace: `<qemu:commandline>` (args, env) and `<qemu:capabilities>`.

use super::util::{
    bad_value, check_attrs, child_path, leaf, missing_attr, opt_string, req_attr,
    unsupported_element,
};
use crate::domain::model::{Domain, QemuCapabilities, QemuCommandline};
use crate::domain::xmltree::{Node, Ns};
use crate::error::Result;

/// A top-level element in the QEMU namespace; `parent` is the root's path.
pub(super) fn parse_qemu(dom: &mut Domain, c: &Node, path: &str, parent: &str) -> Result<()> {
    check_attrs(c, path, &[])?;
    match c.name.as_str() {
        "commandline" => dom.qemu_commandline = Some(parse_commandline(c, path)?),
        "capabilities" => dom.qemu_capabilities = Some(parse_capabilities(c, path)?),
        _ => return Err(unsupported_element(parent, c)),
    }
    Ok(())
}

fn parse_commandline(c: &Node, path: &str) -> Result<QemuCommandline> {
    let mut cl = QemuCommandline::default();
    for e in &c.children {
        let p = child_path(path, e);
        match (e.ns == Ns::Qemu, e.name.as_str()) {
            (true, "arg") => {
                leaf(e, &p, &["value"])?;
                let v = e
                    .attr("value")
                    .ok_or_else(|| missing_attr(e, &p, "value"))?;
                cl.args.push(v.to_owned());
            }
            (true, "env") => {
                leaf(e, &p, &["name", "value"])?;
                let name = env_name(e, &p)?;
                cl.env.push((name.to_owned(), opt_string(e, "value")));
            }
            _ => return Err(unsupported_element(path, e)),
        }
    }
    Ok(cl)
}

/// `<qemu:env name=..>`: an environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
fn env_name<'a>(e: &'a Node, p: &str) -> Result<&'a str> {
    let name = req_attr(e, p, "name")?;
    let valid = name
        .chars()
        .next()
        .is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_')
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    if !valid {
        return Err(bad_value(
            e,
            p,
            "name",
            name,
            "an environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
        ));
    }
    Ok(name)
}

fn parse_capabilities(c: &Node, path: &str) -> Result<QemuCapabilities> {
    let mut caps = QemuCapabilities::default();
    for e in &c.children {
        let p = child_path(path, e);
        let list = match (e.ns == Ns::Qemu, e.name.as_str()) {
            (true, "add") => &mut caps.add,
            (true, "del") => &mut caps.del,
            _ => return Err(unsupported_element(path, e)),
        };
        leaf(e, &p, &["capability"])?;
        list.push(req_attr(e, &p, "capability")?.to_owned());
    }
    Ok(caps)
}
