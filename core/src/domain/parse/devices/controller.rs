//! The `controller` family: `<controller>` with a PCI controller's `<model>` and
//! `<target>`, and `<driver>` kept verbatim.

use super::common::parse_address;
use crate::domain::model::{Controller, ControllerTarget, Devices};
use crate::domain::parse::util::{
    bad_value, check_attrs, leaf, num_attr, on_off, opt_string, parse_c_int, plain_children,
    req_attr, set_once, string_enum_attr, unsupported_element,
};
use crate::domain::xmltree::Node;
use crate::error::Result;

pub(super) fn add_controller(d: &mut Devices, e: &Node, path: &str, _parent: &str) -> Result<()> {
    d.controllers.push(parse_controller(e, path)?);
    Ok(())
}

fn parse_controller(c: &Node, path: &str) -> Result<Controller> {
    check_attrs(c, path, &["type", "index", "model", "ports"])?;
    req_attr(c, path, "type")?;
    let controller_type = string_enum_attr(
        c,
        path,
        "type",
        &[
            "ide",
            "fdc",
            "scsi",
            "sata",
            "usb",
            "ccid",
            "virtio-serial",
            "pci",
            "isa",
            "xenbus",
        ],
    )?
    .unwrap_or_default();
    let mut ctl = Controller {
        controller_type,
        index: num_attr(c, path, "index")?,
        model: opt_string(c, "model"),
        ports: num_attr(c, path, "ports")?,
        ..Controller::default()
    };
    for child in plain_children(c, path) {
        let (e, p) = child?;
        let pci = ctl.controller_type == "pci";
        match e.name.as_str() {
            "address" => set_once(&mut ctl.address, parse_address(e, &p)?, path, e)?,
            "model" if pci => {
                leaf(e, &p, &["name"])?;
                let n = req_attr(e, &p, "name")?.to_owned();
                set_once(&mut ctl.model_name, n, path, e)?;
            }
            "target" if pci => set_once(&mut ctl.target, parse_pci_target(e, &p)?, path, e)?,
            "driver" => {
                leaf(
                    e,
                    &p,
                    &[
                        "queues",
                        "cmd_per_lun",
                        "max_sectors",
                        "ioeventfd",
                        "iothread",
                    ],
                )?;
                set_once(&mut ctl.driver, e.attrs.clone(), path, e)?;
            }
            _ => return Err(unsupported_element(path, e)),
        }
    }
    Ok(ctl)
}

/// `<target chassis= port= busNr= hotplug=>` of a PCI controller.
fn parse_pci_target(e: &Node, p: &str) -> Result<ControllerTarget> {
    leaf(e, p, &["chassis", "port", "busNr", "hotplug"])?;
    let t = ControllerTarget {
        chassis: num_attr(e, p, "chassis")?,
        port: opt_string(e, "port"),
        bus_nr: num_attr(e, p, "busNr")?,
        hotplug: on_off(e, p, "hotplug")?,
    };
    if let Some(port) = &t.port {
        if parse_c_int(port).is_none() {
            return Err(bad_value(e, p, "port", port, "a number such as '0x10'"));
        }
    }
    Ok(t)
}
