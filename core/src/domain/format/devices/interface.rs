//! The `interface` family: `<interface>`.

use super::common::{format_address, format_boot};
use crate::domain::format::writer::W;
use crate::domain::model::{Devices, Interface, InterfaceType};

pub(super) fn format_interfaces(w: &mut W, d: &Devices) {
    for i in &d.interfaces {
        format_interface(w, i);
    }
}

fn format_interface(w: &mut W, i: &Interface) {
    let (ty, source) = match &i.iface_type {
        InterfaceType::User => ("user", None),
        InterfaceType::Network(n) => ("network", Some(("network", n))),
        InterfaceType::Bridge(b) => ("bridge", Some(("bridge", b))),
    };
    w.open("interface", &[("type", Some(ty.to_owned()))]);
    if let Some(m) = &i.mac {
        w.empty("mac", &[("address", Some(m.clone()))]);
    }
    if let Some((attr, v)) = source {
        w.empty("source", &[(attr, Some(v.clone()))]);
    }
    if let Some(m) = &i.model {
        w.empty("model", &[("type", Some(m.clone()))]);
    }
    format_boot(w, i.boot_order);
    format_address(w, &i.address);
    w.close("interface");
}
