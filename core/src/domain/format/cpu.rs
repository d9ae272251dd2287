//! `<vcpu>` and `<cpu>` (which libvirt writes at different places in the document).

use super::writer::{num, W};
use crate::domain::model::Domain;

pub(super) fn format_vcpu(w: &mut W, dom: &Domain) {
    w.text_el(
        "vcpu",
        &[
            ("placement", dom.vcpu.placement.clone()),
            ("current", num(dom.vcpu.current)),
        ],
        &dom.vcpu.count.to_string(),
    );
}

pub(super) fn format_cpu(w: &mut W, dom: &Domain) {
    let Some(cpu) = &dom.cpu else {
        return;
    };
    let attrs = [
        ("mode", cpu.mode.clone()),
        ("match", cpu.match_.clone()),
        ("check", cpu.check.clone()),
    ];
    let empty = cpu.model.is_none() && cpu.topology.is_none() && cpu.features.is_empty();
    w.element("cpu", &attrs, empty, |w| {
        if let Some(m) = &cpu.model {
            w.text_el("model", &[("fallback", cpu.model_fallback.clone())], m);
        }
        if let Some(t) = &cpu.topology {
            w.empty(
                "topology",
                &[
                    ("sockets", num(t.sockets)),
                    ("dies", num(t.dies)),
                    ("cores", num(t.cores)),
                    ("threads", num(t.threads)),
                ],
            );
        }
        for f in &cpu.features {
            w.empty(
                "feature",
                &[("policy", f.policy.clone()), ("name", Some(f.name.clone()))],
            );
        }
    });
}
