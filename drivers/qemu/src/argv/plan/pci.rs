//! The PCI topology: which `<controller type='pci'>`s become devices and where they
//! sit. Today that is the root complex (implicit) and `pcie-root-port`s on q35, placed
//! at libvirt's `port`/`chassis`/`addr`. Other devices get no explicit address: QEMU
//! assigns their slots on `pcie.0`/`pci.0` in argument order.

use oxvirt_core::domain::{Address, Controller, Domain};
use oxvirt_core::{Error, Result};

/// One `pcie-root-port`, placed: `-device pcie-root-port,port=,chassis=,id=pci.INDEX,
/// bus=pcie.0,addr=SLOT.FUNCTION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RootPort {
    pub index: u32,
    pub chassis: u32,
    pub port: u32,
    pub slot: u32,
    pub function: u32,
    /// Function 0 of a slot whose other functions are used too.
    pub multifunction: bool,
}

/// A root port as the XML gives it: index, chassis, port, (slot, function).
type Given = (u32, Option<u32>, Option<u32>, Option<(u32, u32)>);

/// The root ports of `dom`, validated and placed as libvirt places them.
pub(crate) fn root_ports(dom: &Domain, q35: bool) -> Result<Vec<RootPort>> {
    // virt-install leaves `index` out: libvirt numbers PCI controllers in order.
    let mut next = 0u32;
    let mut given = Vec::new();
    for c in dom
        .devices
        .controllers
        .iter()
        .filter(|c| c.controller_type == "pci")
    {
        let index = c.index.unwrap_or(next);
        // A PCI bus number is one byte: libvirt refuses larger indexes too.
        if index > 255 {
            return Err(Error::xml(format!(
                "<controller type='pci' index='{index}'>: a PCI controller index must be 0 to 255"
            )));
        }
        next = next.max(index + 1);
        if let Some(g) = root_port(dom, c, index, q35)? {
            given.push(g);
        }
    }
    let placed = place(given);
    for (i, p) in placed.iter().enumerate() {
        if placed[..i]
            .iter()
            .any(|q| (q.slot, q.function) == (p.slot, p.function))
        {
            return Err(Error::xml(format!(
                "<controller type='pci' index='{}'>: PCI address 0x{:x}.0x{:x} is used twice",
                p.index, p.slot, p.function
            )));
        }
    }
    Ok(placed)
}

/// One PCI controller: `None` for the root complex, a root port's given placement, or
/// an error for a model oxvirt cannot build.
fn root_port(dom: &Domain, c: &Controller, index: u32, q35: bool) -> Result<Option<Given>> {
    let model = c.model.as_deref().unwrap_or(match (q35, index) {
        (true, 0) => "pcie-root",
        (true, _) => "pcie-root-port",
        (false, 0) => "pci-root",
        (false, _) => "pci-bridge",
    });
    match (model, q35) {
        ("pcie-root", true) | ("pci-root", false) if index == 0 => return Ok(None),
        ("pcie-root-port", true) if index > 0 => {}
        _ => {
            return Err(Error::unsupported(format!(
                "<controller type='pci' index='{index}' model='{model}'> is not supported on machine '{}'; only pcie-root-port controllers on q35",
                dom.os.machine.as_deref().unwrap_or("pc")
            )))
        }
    }
    if let Some(n) = c.model_name.as_deref().filter(|n| *n != "pcie-root-port") {
        return Err(Error::unsupported(format!(
            "<controller type='pci' index='{index}'><model name='{n}'> is not supported; use pcie-root-port"
        )));
    }
    let target = c.target.as_ref();
    let port = match target.and_then(|t| t.port.as_deref()) {
        None => None,
        Some(p) => Some(parse_c_int(p).ok_or_else(|| {
            Error::xml(format!(
                "<controller type='pci' index='{index}'><target port='{p}'>: not a number"
            ))
        })?),
    };
    let slot_fn = match &c.address {
        None => None,
        Some(addr) => Some(slot_function(addr, index)?),
    };
    Ok(Some((index, target.and_then(|t| t.chassis), port, slot_fn)))
}

/// libvirt's automatic placement: slot 2 onwards, eight functions per slot; chassis
/// defaults to the index and port to `0x10 + index - 1`.
fn place(given: Vec<Given>) -> Vec<RootPort> {
    let mut auto = 0u32;
    let mut placed: Vec<RootPort> = given
        .into_iter()
        .map(|(index, chassis, port, slot_fn)| {
            let (slot, function) = slot_fn.unwrap_or_else(|| {
                let s = (2 + auto / 8, auto % 8);
                auto += 1;
                s
            });
            RootPort {
                index,
                chassis: chassis.unwrap_or(index),
                port: port.unwrap_or(0x10 + index - 1),
                slot,
                function,
                multifunction: false,
            }
        })
        .collect();
    let used: Vec<(u32, u32)> = placed.iter().map(|p| (p.slot, p.function)).collect();
    for p in &mut placed {
        p.multifunction = p.function == 0 && used.iter().any(|&(s, f)| s == p.slot && f != 0);
    }
    placed
}

fn parse_c_int(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `(slot, function)` of a root port's `<address type='pci' bus='0x00' ...>`.
fn slot_function(addr: &Address, index: u32) -> Result<(u32, u32)> {
    let get = |k: &str| {
        addr.attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    let bad = |what: &str| {
        Error::unsupported(format!(
            "<controller type='pci' index='{index}'><address {what}> is not supported; pcie-root-ports go on bus 0x00 of domain 0x0000"
        ))
    };
    if get("type") != Some("pci") {
        return Err(bad("type other than 'pci'"));
    }
    for k in ["domain", "bus"] {
        if get(k).map(|v| parse_c_int(v) != Some(0)).unwrap_or(false) {
            return Err(bad(&format!("{k}='{}'", get(k).unwrap_or_default())));
        }
    }
    let num = |k: &str| -> Result<u32> {
        match get(k) {
            None => Ok(0),
            Some(v) => parse_c_int(v).ok_or_else(|| bad(&format!("{k}='{v}'"))),
        }
    };
    let (slot, func) = (num("slot")?, num("function")?);
    if slot == 0 || slot > 31 || func > 7 {
        return Err(bad(&format!("slot='{slot}' function='{func}'")));
    }
    Ok((slot, func))
}
