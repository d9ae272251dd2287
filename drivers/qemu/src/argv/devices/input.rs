//! `<input>`: PS/2 mouse and keyboard are built into the machine and add nothing;
//! USB ones (a tablet's default bus) are devices on the USB controller (`usb.0`,
//! ports numbered from 1), virtio ones PCI devices.

use crate::argv::plan::Plan;
use crate::argv::props::{Args, Props};
use oxvirt_core::{Error, Result};

/// Every input device (libvirt's `qemuBuildInputCommandLine`).
pub(crate) fn build(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    let mut usb_port = 0u32;
    for (i, inp) in p.dom.devices.inputs.iter().enumerate() {
        let bus = inp.bus.as_deref().unwrap_or(match inp.input_type.as_str() {
            "tablet" => "usb",
            _ => "ps2",
        });
        let what = format!("<input type='{}' bus='{bus}'>", inp.input_type);
        let driver = match (inp.input_type.as_str(), bus) {
            ("mouse" | "keyboard", "ps2") => continue,
            ("tablet", "usb") => "usb-tablet",
            ("mouse", "usb") => "usb-mouse",
            ("keyboard", "usb") => "usb-kbd",
            ("tablet", "virtio") => "virtio-tablet-pci",
            ("mouse", "virtio") => "virtio-mouse-pci",
            ("keyboard", "virtio") => "virtio-keyboard-pci",
            _ => return Err(Error::unsupported(format!("{what} is not supported"))),
        };
        let mut dev = Props::new()
            .with("driver", driver)
            .with("id", format!("input{i}"));
        if bus == "usb" {
            if p.usb.is_none() {
                return Err(Error::xml(format!(
                    "{what} needs a USB controller, but <controller type='usb' model='none'> removed it"
                )));
            }
            usb_port += 1;
            dev = dev.with("bus", "usb.0").with("port", usb_port.to_string());
        }
        a.json("-device", &dev);
    }
    Ok(())
}
