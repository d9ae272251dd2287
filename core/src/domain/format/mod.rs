//! [`Domain`] → domain XML, in libvirt's style: two-space indentation, single-quoted
//! attributes, memory in KiB, the uuid always present, `id` only in live XML and the
//! `qemu:` namespace declared on the root only when QEMU namespace content exists.
//!
//! Owns: element order and escaping. The root writes `<domain>` and hands each part,
//! in libvirt's order (`SECTIONS`), to the module named as in `model/` and `parse/`;
//! `devices/` has one module per device family and its own order. `writer.rs` is the
//! XML writer. What is `None` in the model is left out, so `parse(format(d)) == d` for
//! every parsed `d`.

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
mod writer;

use super::model::Domain;
use super::xmltree::QEMU_NS;
use writer::W;

/// What to include when formatting.
#[derive(Debug, Clone, Copy, Default)]
pub struct FormatOptions {
    /// Emit `id='N'` on the root (live XML of a running domain).
    pub live: bool,
}

/// Writes one part of the domain: the children of `<domain>` it owns.
type Section = fn(&mut W, &Domain);

/// The children of `<domain>` in libvirt's order, by the section that writes them.
const SECTIONS: &[Section] = &[
    identity::format_identity,   // name uuid title description
    metadata::format_metadata,   // metadata
    memory::format_memory,       // memory currentMemory
    cpu::format_vcpu,            // vcpu
    os::format_os,               // os
    features::format_features,   // features
    cpu::format_cpu,             // cpu
    clock::format_clock,         // clock
    lifecycle::format_lifecycle, // on_poweroff on_reboot on_crash pm
    devices::format_devices,     // devices
    seclabel::format_seclabels,  // seclabel
    qemu::format_qemu,           // qemu:commandline qemu:capabilities
];

/// Format a domain as libvirt does (indentation of two spaces, single quotes).
pub fn format_domain_xml(dom: &Domain, opts: FormatOptions) -> String {
    let mut w = W::default();
    let mut root = vec![("type", Some(dom.virt_type.as_str().to_owned()))];
    if opts.live {
        root.push(("id", dom.id.map(|i| i.to_string())));
    }
    if qemu::has_qemu(dom) {
        root.push(("xmlns:qemu", Some(QEMU_NS.to_owned())));
    }
    w.open("domain", &root);
    for section in SECTIONS {
        section(&mut w, dom);
    }
    w.close("domain");
    w.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_only_in_live_xml() {
        let dom = Domain {
            name: "x".into(),
            id: Some(3),
            memory_kib: 1024,
            ..Domain::default()
        };
        let inactive = format_domain_xml(&dom, FormatOptions::default());
        assert!(inactive.starts_with("<domain type='qemu'>\n"), "{inactive}");
        let live = format_domain_xml(&dom, FormatOptions { live: true });
        assert!(live.starts_with("<domain type='qemu' id='3'>\n"), "{live}");
    }
}
