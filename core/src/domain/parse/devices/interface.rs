//! The `interface` family: `<interface type='user|network|bridge'>`.

use super::common::{boot_order, parse_address};
use crate::domain::model::{Devices, Interface, InterfaceType};
use crate::domain::parse::util::{
    bad_value, check_attrs, first_time, leaf, opt_string, plain_children, req_attr, req_supported,
    set_once, unsupported_element,
};
use crate::domain::xmltree::Node;
use crate::error::{Error, Result};

pub(super) fn add_interface(d: &mut Devices, e: &Node, path: &str, _parent: &str) -> Result<()> {
    d.interfaces.push(parse_interface(e, path)?);
    Ok(())
}

fn valid_mac(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn parse_interface(c: &Node, path: &str) -> Result<Interface> {
    check_attrs(c, path, &["type"])?;
    let t = req_supported(
        c,
        path,
        "type",
        &["user", "network", "bridge"],
        &[
            "ethernet",
            "vhostuser",
            "server",
            "client",
            "mcast",
            "udp",
            "direct",
            "hostdev",
            "vdpa",
            "null",
            "vds",
        ],
    )?;
    let mut source: Option<String> = None;
    let mut iface = Interface {
        iface_type: InterfaceType::User,
        mac: None,
        model: None,
        boot_order: None,
        address: None,
    };
    let mut source_seen = false;
    for child in plain_children(c, path) {
        let (e, p) = child?;
        match e.name.as_str() {
            "source" => {
                let attr = match t {
                    "network" => "network",
                    "bridge" => "bridge",
                    _ => return Err(unsupported_element(path, e)),
                };
                leaf(e, &p, &[attr])?;
                first_time(&mut source_seen, path, e)?;
                source = opt_string(e, attr);
            }
            _ => parse_child(&mut iface, e, &p, path)?,
        }
    }
    iface.iface_type = iface_type(c, path, t, source)?;
    Ok(iface)
}

/// `<mac>`, `<model>`, `<boot>`, `<address>`.
fn parse_child(iface: &mut Interface, e: &Node, p: &str, path: &str) -> Result<()> {
    match e.name.as_str() {
        "mac" => {
            leaf(e, p, &["address"])?;
            let mac = req_attr(e, p, "address")?;
            if !valid_mac(mac) {
                return Err(bad_value(
                    e,
                    p,
                    "address",
                    mac,
                    "a MAC address such as '52:54:00:12:34:56'",
                ));
            }
            set_once(&mut iface.mac, mac.to_owned(), path, e)?;
        }
        "model" => {
            leaf(e, p, &["type"])?;
            let m = req_attr(e, p, "type")?;
            set_once(&mut iface.model, m.to_owned(), path, e)?;
        }
        "boot" => set_once(&mut iface.boot_order, boot_order(e, p)?, path, e)?,
        "address" => set_once(&mut iface.address, parse_address(e, p)?, path, e)?,
        _ => return Err(unsupported_element(path, e)),
    }
    Ok(())
}

/// The interface type with its `<source>`: network and bridge need one.
fn iface_type(c: &Node, path: &str, t: &str, source: Option<String>) -> Result<InterfaceType> {
    if t == "user" {
        return Ok(InterfaceType::User);
    }
    let Some(s) = source.filter(|s| !s.trim().is_empty()) else {
        return Err(Error::xml(format!(
            "XML error: no <source {t}=..> given for <interface type='{t}'> (at {path}, line {})",
            c.line
        )));
    };
    Ok(if t == "network" {
        InterfaceType::Network(s)
    } else {
        InterfaceType::Bridge(s)
    })
}
