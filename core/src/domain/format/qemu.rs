//! The `qemu:` namespace: `<qemu:commandline>` and `<qemu:capabilities>`.

use super::writer::W;
use crate::domain::model::Domain;

/// Whether the root must declare the `qemu:` namespace.
pub(super) fn has_qemu(dom: &Domain) -> bool {
    dom.qemu_commandline.is_some() || dom.qemu_capabilities.is_some()
}

pub(super) fn format_qemu(w: &mut W, dom: &Domain) {
    if let Some(cl) = &dom.qemu_commandline {
        let empty = cl.args.is_empty() && cl.env.is_empty();
        w.element("qemu:commandline", &[], empty, |w| {
            for a in &cl.args {
                w.empty("qemu:arg", &[("value", Some(a.clone()))]);
            }
            for (n, v) in &cl.env {
                w.empty(
                    "qemu:env",
                    &[("name", Some(n.clone())), ("value", v.clone())],
                );
            }
        });
    }
    if let Some(caps) = &dom.qemu_capabilities {
        let empty = caps.add.is_empty() && caps.del.is_empty();
        w.element("qemu:capabilities", &[], empty, |w| {
            for c in &caps.add {
                w.empty("qemu:add", &[("capability", Some(c.clone()))]);
            }
            for c in &caps.del {
                w.empty("qemu:del", &[("capability", Some(c.clone()))]);
            }
        });
    }
}
