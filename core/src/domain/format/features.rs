//! `<features>`: written only when one is given, in libvirt's order
//! (`virDomainDefFormatFeatures`).

use super::writer::{on_off, W};
use crate::domain::model::{Domain, Features, Hyperv};

fn is_empty(f: &Features) -> bool {
    *f == Features::default()
}

pub(super) fn format_features(w: &mut W, dom: &Domain) {
    let f = &dom.features;
    if is_empty(f) {
        return;
    }
    let st = |v: Option<bool>| v.map(on_off);
    w.open("features", &[]);
    if f.acpi {
        w.empty("acpi", &[]);
    }
    if f.apic {
        w.empty("apic", &[("eoi", st(f.apic_eoi))]);
    }
    if f.pae {
        w.empty("pae", &[]);
    }
    if let Some(h) = f.hap {
        w.empty("hap", &[("state", st(h))]);
    }
    if let Some(h) = &f.hyperv {
        format_hyperv(w, h);
    }
    if let Some(k) = &f.kvm {
        let children = [
            ("hidden", k.hidden),
            ("hint-dedicated", k.hint_dedicated),
            ("poll-control", k.poll_control),
            ("pv-ipi", k.pv_ipi),
        ];
        let empty = children.iter().all(|(_, v)| v.is_none());
        w.element("kvm", &[], empty, |w| {
            for (name, v) in children {
                if let Some(v) = v {
                    w.empty(name, &[("state", Some(on_off(v)))]);
                }
            }
        });
    }
    if let Some(p) = f.pvspinlock {
        w.empty("pvspinlock", &[("state", st(p))]);
    }
    if let Some(v) = f.pmu {
        w.empty("pmu", &[("state", Some(on_off(v)))]);
    }
    if let Some(v) = f.vmport {
        w.empty("vmport", &[("state", Some(on_off(v)))]);
    }
    if let Some(s) = &f.smm {
        w.element(
            "smm",
            &[("state", st(s.state))],
            s.tseg_mib.is_none(),
            |w| {
                if let Some(t) = s.tseg_mib {
                    w.text_el("tseg", &[("unit", Some("MiB".into()))], &t.to_string());
                }
            },
        );
    }
    if let Some(d) = &f.ioapic {
        w.empty("ioapic", &[("driver", Some(d.clone()))]);
    }
    w.close("features");
}

fn format_hyperv(w: &mut W, h: &Hyperv) {
    w.element(
        "hyperv",
        &[("mode", h.mode.clone())],
        h.features.is_empty(),
        |w| {
            for f in &h.features {
                let attrs = [
                    ("state", Some(on_off(f.state))),
                    ("retries", f.retries.map(|r| r.to_string())),
                    ("value", f.value.clone()),
                ];
                w.element(&f.name, &attrs, f.direct.is_none(), |w| {
                    if let Some(d) = f.direct {
                        w.empty("direct", &[("state", Some(on_off(d)))]);
                    }
                });
            }
        },
    );
}
