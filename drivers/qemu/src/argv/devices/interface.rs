//! `<interface>` → `-netdev` + `-device`. `type='user'` is QEMU's user networking;
//! `network` and `bridge` need a tap device, which oxvirt does not create yet: an
//! error at start, a `-netdev tap,fd=N` placeholder (numbered from fd 3) for
//! `domxml-to-native`, as libvirt prints it. The NIC model defaults to `rtl8139`. The
//! MAC must have been assigned at define time, as libvirt does.

use crate::argv::plan::Plan;
use crate::argv::props::{Args, Props};
use oxvirt_core::domain::{Interface, InterfaceType};
use oxvirt_core::{Error, Result};

/// Every interface (libvirt's `qemuBuildNetCommandLine`).
pub(crate) fn build(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    let mut fd = 3u32;
    for (i, n) in p.dom.devices.interfaces.iter().enumerate() {
        let netdev = format!("hostnet{i}");
        let mac = n.mac.as_deref().ok_or_else(|| {
            Error::internal(format!(
                "interface {i}: no MAC address; the definition must be given one (<mac address='52:54:00:..'/>) before start"
            ))
        })?;
        if !valid_mac(mac) {
            return Err(Error::xml(format!(
                "interface {i}: '{mac}' is not a unicast MAC address (use 52:54:00:xx:xx:xx)"
            )));
        }
        a.json("-netdev", &backend(p, n, i, &netdev, &mut fd)?);
        a.json(
            "-device",
            &Props::new()
                .with("driver", model(n, i)?)
                .with("netdev", netdev.as_str())
                .with("id", format!("net{i}"))
                .with("mac", mac)
                .with_opt("bootindex", p.boot.interfaces[i]),
        );
    }
    Ok(())
}

/// The `-netdev` of interface `i`; `fd` is the next tap placeholder.
fn backend(p: &Plan<'_>, n: &Interface, i: usize, netdev: &str, fd: &mut u32) -> Result<Props> {
    let what = match &n.iface_type {
        InterfaceType::User => {
            return Ok(Props::new().with("type", "user").with("id", netdev));
        }
        InterfaceType::Network(net) => format!("interface type 'network' (network '{net}')"),
        InterfaceType::Bridge(br) => format!("interface type 'bridge' (bridge '{br}')"),
    };
    if !p.ctx.for_native_export {
        return Err(Error::unsupported(format!(
            "interface {i}: {what} needs a tap device; oxvirt does not manage virtual networks yet; use <interface type='user'>"
        )));
    }
    let tap = Props::new()
        .with("type", "tap")
        .with("fd", fd.to_string())
        .with("id", netdev);
    *fd += 1;
    Ok(tap)
}

/// The NIC device type: `<model type>` (`virtio` → `virtio-net-pci`), else rtl8139.
fn model(n: &Interface, i: usize) -> Result<&str> {
    match n.model.as_deref() {
        None => Ok("rtl8139"),
        Some("virtio") => Ok("virtio-net-pci"),
        Some(m)
            if !m.is_empty()
                && m.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)) =>
        {
            Ok(m)
        }
        Some(m) => Err(Error::xml(format!(
            "interface {i}: <model type='{m}'> is not a NIC model name"
        ))),
    }
}

fn valid_mac(m: &str) -> bool {
    let parts: Vec<&str> = m.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
        && u8::from_str_radix(parts[0], 16).is_ok_and(|b| b & 1 == 0)
}
