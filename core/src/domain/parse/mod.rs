//! Domain XML → [`Domain`].
//!
//! Owns: the `<domain>` root — its attributes, which top-level element goes to which
//! section module, which may appear only once — and the checks that need the whole
//! document. Each section has its own module, named as in `model/` and `format/`:
//! `identity` (name, uuid, title, description), `metadata`, `memory`, `cpu` (vcpu and
//! cpu), `os`, `features`, `clock`, `lifecycle` (on_* and pm), `seclabel`, `qemu` (the
//! `qemu:` namespace) and `devices/` (one module per device family); helpers are in
//! `util.rs`. Anything libvirt allows that oxvirt does not implement is an error naming
//! the element and its path — nothing is dropped silently. Never panics on input.

mod clock;
mod cpu;
mod devices;
mod features;
mod identity;
mod lifecycle;
mod memory;
mod metadata;
mod os;
mod qemu;
mod seclabel;
mod util;

use uuid::Uuid;

use super::model::{Domain, VirtType};
use super::xmltree::{parse_tree, Node, Ns};
use crate::error::{Error, Result};
use util::{
    check_attrs, check_supported, child_path, duplicate, missing_attr, num_attr,
    unsupported_element,
};

/// Parse a `<domain>` document.
pub fn parse_domain_xml(xml: &str) -> Result<Domain> {
    let root = parse_tree(xml)?;
    if root.name != "domain" || root.ns != Ns::None {
        return Err(Error::xml(format!(
            "XML error: expected root element <domain>, found <{}> (line {})",
            root.display_name(),
            root.line
        )));
    }
    parse_domain(&root, xml)
}

const P: &str = "/domain";

/// Top-level elements that may appear only once (by their prefixed name).
const SINGLE: &[&str] = &[
    "name",
    "uuid",
    "title",
    "description",
    "metadata",
    "memory",
    "currentMemory",
    "vcpu",
    "os",
    "features",
    "cpu",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "devices",
    "pm",
    "qemu:commandline",
    "qemu:capabilities",
];

fn parse_domain(root: &Node, xml: &str) -> Result<Domain> {
    check_attrs(root, P, &["type", "id"])?;
    let mut dom = Domain {
        virt_type: virt_type(root)?,
        id: num_attr(root, P, "id")?,
        ..Domain::default()
    };
    let mut seen: Vec<String> = Vec::new();
    for c in &root.children {
        let key = c.display_name();
        if SINGLE.contains(&key.as_str()) {
            if seen.contains(&key) {
                return Err(duplicate(P, c));
            }
            seen.push(key);
        }
        let path = child_path(P, c);
        match c.ns {
            Ns::Qemu => qemu::parse_qemu(&mut dom, c, &path, P)?,
            Ns::Other(_) => return Err(unsupported_element(P, c)),
            Ns::None => parse_section(&mut dom, c, &path, xml)?,
        }
    }
    if !seen.iter().any(|k| k == "uuid") {
        dom.uuid = Uuid::new_v4();
    }
    finish(dom)
}

/// `<domain type=..>`.
fn virt_type(root: &Node) -> Result<VirtType> {
    let Some(t) = root.attr("type") else {
        return Err(missing_attr(root, P, "type"));
    };
    check_supported(
        root,
        P,
        "type",
        t,
        &["qemu", "kvm"],
        &[
            "xen", "lxc", "kqemu", "openvz", "test", "vmware", "hyperv", "vbox", "phyp", "vz",
            "bhyve", "hvf", "uml", "ch",
        ],
    )?;
    Ok(if t == "kvm" {
        VirtType::Kvm
    } else {
        VirtType::Qemu
    })
}

/// One top-level element of libvirt's namespace, handed to the module of its section.
fn parse_section(dom: &mut Domain, c: &Node, path: &str, xml: &str) -> Result<()> {
    match c.name.as_str() {
        "name" => dom.name = identity::parse_name(c, path)?,
        "uuid" => dom.uuid = identity::parse_uuid(c, path)?,
        "title" => dom.title = Some(identity::parse_title(c, path)?),
        "description" => dom.description = Some(identity::parse_description(c, path)?),
        "metadata" => dom.metadata = Some(metadata::parse_metadata(c, path, xml)?),
        "memory" => dom.memory_kib = memory::parse_memory_element(c, path)?,
        "currentMemory" => dom.current_memory_kib = Some(memory::parse_memory_element(c, path)?),
        "vcpu" => dom.vcpu = cpu::parse_vcpu(c, path)?,
        "os" => dom.os = os::parse_os(c, path)?,
        "features" => dom.features = features::parse_features(c, path)?,
        "cpu" => dom.cpu = Some(cpu::parse_cpu(c, path)?),
        "clock" => dom.clock = Some(clock::parse_clock(c, path)?),
        "on_poweroff" => dom.on_poweroff = Some(lifecycle::parse_action(c, path, false)?),
        "on_reboot" => dom.on_reboot = Some(lifecycle::parse_action(c, path, false)?),
        "on_crash" => dom.on_crash = Some(lifecycle::parse_action(c, path, true)?),
        "pm" => dom.pm = Some(lifecycle::parse_pm(c, path)?),
        "devices" => dom.devices = devices::parse_devices(c, path)?,
        "seclabel" => dom.seclabels.push(seclabel::parse_seclabel(c, path, true)?),
        _ => return Err(unsupported_element(P, c)),
    }
    Ok(())
}

/// The checks that need the whole document, in the order a define reports them.
fn finish(dom: Domain) -> Result<Domain> {
    identity::check_name(&dom.name)?;
    memory::check_sizes(&dom)?;
    os::check_present(&dom)?;
    os::check_boot_order(&dom)?;
    Ok(dom)
}
