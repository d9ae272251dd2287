//! The `-cpu` properties that come from `<features>` and `<clock>` rather than
//! `<cpu>`, in libvirt 9.0's order: the CPU timers (`kvmclock=`, `hv-time=`,
//! `tsc-frequency=`), `<apic eoi>` (`kvm-pv-eoi=`), `<pvspinlock>` (`kvm-pv-unhalt=`),
//! `<hyperv>` (`hv-*=on`, or `hv-passthrough=on`), `<kvm>` (`kvm=off` for hidden,
//! `kvm-hint-dedicated=on`, `kvm-poll-control=on`, `kvm-pv-ipi=off`), `<pmu>`.

use oxvirt_core::domain::{Domain, Hyperv, VirtType, HYPERV_FEATURES};
use oxvirt_core::{Error, Result};

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// What the `-cpu` option gets from `<features>` and `<clock>`.
pub(crate) fn props(dom: &Domain) -> Vec<String> {
    let mut out = Vec::new();
    for t in dom.clock.iter().flat_map(|c| &c.timers) {
        match (t.name.as_str(), t.present) {
            ("kvmclock", Some(p)) => out.push(format!("kvmclock={}", on_off(p))),
            ("hypervclock", Some(true)) => out.push("hv-time=on".into()),
            ("tsc", _) => {
                if let Some(f) = t.frequency {
                    out.push(format!("tsc-frequency={f}"));
                }
            }
            _ => {}
        }
    }
    let f = &dom.features;
    if let Some(eoi) = f.apic_eoi {
        out.push(format!("kvm-pv-eoi={}", on_off(eoi)));
    }
    if let Some(pv) = f.pvspinlock {
        out.push(format!("kvm-pv-unhalt={}", on_off(pv.unwrap_or(true))));
    }
    if let Some(h) = &f.hyperv {
        hyperv(h, &mut out);
    }
    if let Some(k) = &f.kvm {
        if k.hidden == Some(true) {
            out.push("kvm=off".into());
        }
        if k.hint_dedicated == Some(true) {
            out.push("kvm-hint-dedicated=on".into());
        }
        if k.poll_control == Some(true) {
            out.push("kvm-poll-control=on".into());
        }
        if k.pv_ipi == Some(false) {
            out.push("kvm-pv-ipi=off".into());
        }
    }
    if let Some(p) = f.pmu {
        out.push(format!("pmu={}", on_off(p)));
    }
    out
}

/// `hv-passthrough=on`, or each enlightenment that is on.
fn hyperv(h: &Hyperv, out: &mut Vec<String>) {
    if h.mode.as_deref() == Some("passthrough") {
        out.push("hv-passthrough=on".into());
        return;
    }
    for feat in h.features.iter().filter(|f| f.state) {
        let Some((_, prop)) = HYPERV_FEATURES.iter().find(|(n, _)| *n == feat.name) else {
            continue;
        };
        match feat.name.as_str() {
            "spinlocks" => out.push(format!("{prop}=0x{:x}", feat.retries.unwrap_or(4095))),
            "vendor_id" => out.push(format!(
                "{prop}={}",
                feat.value.as_deref().unwrap_or_default().replace(',', ",,")
            )),
            _ => out.push(format!("{prop}=on")),
        }
        if feat.name == "stimer" && feat.direct == Some(true) {
            out.push("hv-stimer-direct=on".into());
        }
    }
}

/// What TCG cannot do (QEMU 7.2 refuses `hv-vpindex` without KVM and only warns
/// about `kvm-hint-dedicated`), and the Hyper-V dependencies QEMU enforces: `synic`
/// needs `vpindex`, `stimer` needs `synic` and `hypervclock`.
pub(crate) fn check(dom: &Domain) -> Result<()> {
    let tcg = dom.virt_type != VirtType::Kvm;
    if tcg
        && dom
            .features
            .kvm
            .as_ref()
            .is_some_and(|k| k.hint_dedicated == Some(true))
    {
        return Err(Error::unsupported(
            "unsupported configuration: <kvm><hint-dedicated state='on'/> needs <domain type='kvm'>: TCG does not support the feature",
        ));
    }
    let Some(h) = &dom.features.hyperv else {
        return Ok(());
    };
    let tcg_refused = ["vpindex", "synic", "stimer"];
    if let Some(f) = h
        .features
        .iter()
        .find(|f| f.state && tcg && tcg_refused.contains(&f.name.as_str()))
    {
        return Err(Error::unsupported(format!(
            "unsupported configuration: Hyper-V enlightenment '{}' needs <domain type='kvm'>: QEMU sets the VP index through KVM ('kernel doesn't allow setting HyperV VP_INDEX' under TCG)",
            f.name
        )));
    }
    if h.mode.as_deref() == Some("passthrough") {
        return Ok(());
    }
    let on = |n: &str| h.features.iter().any(|f| f.name == n && f.state);
    let need = |what: &str, dep: &str| {
        Error::unsupported(format!(
            "unsupported configuration: Hyper-V enlightenment '{what}' requires '{dep}': add <{dep} state='on'/> to <hyperv>"
        ))
    };
    if on("synic") && !on("vpindex") {
        return Err(need("synic", "vpindex"));
    }
    if on("stimer") {
        if !on("synic") {
            return Err(need("stimer", "synic"));
        }
        let hvclock = dom
            .clock
            .iter()
            .flat_map(|c| &c.timers)
            .any(|t| t.name == "hypervclock" && t.present == Some(true));
        if !hvclock {
            return Err(Error::unsupported(
                "unsupported configuration: Hyper-V enlightenment 'stimer' requires the hypervclock timer: add <timer name='hypervclock' present='yes'/> to <clock>",
            ));
        }
    }
    Ok(())
}
