//! `<features>`: acpi, apic (eoi), pae, hap, vmport, pmu, smm (tseg), ioapic, kvm,
//! hyperv (in `features/hyperv.rs`), pvspinlock. The features libvirt knows for other
//! architectures or hypervisors, and the ones libvirt 9.0 does not know, are refused
//! with libvirt's reason.

mod hyperv;

use super::memory::parse_memory;
use super::util::{
    bad_value, check_attrs, leaf, no_children, on_off, plain_children, req_attr, req_supported,
    set_once, unsupported_element,
};
use crate::domain::model::{Features, KvmFeatures, Smm};
use crate::domain::xmltree::Node;
use crate::error::{Error, Result};

/// Features libvirt has for other architectures (ARM, PPC) or hypervisors (Xen, LXC).
const OTHER_ARCH: &[&str] = &[
    "gic",
    "htm",
    "ccf-assist",
    "hpt",
    "cfpc",
    "sbbc",
    "ibs",
    "nested-hv",
    "ras",
];
const OTHER_HYPERVISOR: &[&str] = &["privnet", "viridian", "capabilities", "xen"];

pub(super) fn parse_features(c: &Node, path: &str) -> Result<Features> {
    check_attrs(c, path, &[])?;
    let mut f = Features::default();
    for child in plain_children(c, path) {
        let (e, p) = child?;
        parse_one(&mut f, e, &p, path)?;
    }
    Ok(f)
}

fn parse_one(f: &mut Features, e: &Node, p: &str, path: &str) -> Result<()> {
    match e.name.as_str() {
        "acpi" | "pae" => {
            leaf(e, p, &[])?;
            *if e.name == "acpi" { &mut f.acpi } else { &mut f.pae } = true;
        }
        "apic" => {
            leaf(e, p, &["eoi"])?;
            f.apic = true;
            f.apic_eoi = on_off(e, p, "eoi")?;
        }
        "hap" => set_once(&mut f.hap, state(e, p, false)?, path, e)?,
        "pvspinlock" => set_once(&mut f.pvspinlock, state(e, p, false)?, path, e)?,
        "vmport" => set_once(&mut f.vmport, state(e, p, true)?.unwrap_or(true), path, e)?,
        "pmu" => set_once(&mut f.pmu, state(e, p, false)?.unwrap_or(true), path, e)?,
        "smm" => set_once(&mut f.smm, parse_smm(e, p)?, path, e)?,
        "ioapic" => {
            leaf(e, p, &["driver"])?;
            let d = req_supported(e, p, "driver", &["kvm", "qemu"], &[])?;
            set_once(&mut f.ioapic, d.to_owned(), path, e)?;
        }
        "kvm" => set_once(&mut f.kvm, parse_kvm(e, p)?, path, e)?,
        "hyperv" => set_once(&mut f.hyperv, hyperv::parse_hyperv(e, p)?, path, e)?,
        "msrs" => {
            return Err(Error::unsupported(format!(
                "unsupported configuration: <msrs unknown='{}'> in <features> is not applied by oxvirt: QEMU 7.2 has no per-VM option for unknown MSRs; set the kvm module parameter ignore_msrs on the host instead (at {p}, line {})",
                e.attr("unknown").unwrap_or_default(),
                e.line
            )))
        }
        "async-teardown" => {
            return Err(Error::unsupported(format!(
                "unsupported configuration: unexpected feature 'async-teardown' (libvirt 9.0 does not know it; QEMU 7.2 has no -run-with) (at {p}, line {})",
                e.line
            )))
        }
        n if OTHER_ARCH.contains(&n) => {
            return Err(Error::unsupported(format!(
                "unsupported configuration: The '{n}' feature is not supported for architecture 'x86_64' (at {p}, line {})",
                e.line
            )))
        }
        n if OTHER_HYPERVISOR.contains(&n) => {
            return Err(Error::unsupported(format!(
                "unsupported configuration: The '{n}' feature is for other hypervisors (Xen, LXC), not QEMU (at {p}, line {})",
                e.line
            )))
        }
        _ => return Err(unsupported_element(path, e)),
    }
    Ok(())
}

/// `state='on|off'` of a leaf feature; required when `required`.
fn state(e: &Node, p: &str, required: bool) -> Result<Option<bool>> {
    leaf(e, p, &["state"])?;
    if required {
        req_attr(e, p, "state")?;
    }
    on_off(e, p, "state")
}

/// `<smm state=..><tseg unit=..>N</tseg></smm>`: the TSEG size in whole MiB.
fn parse_smm(e: &Node, p: &str) -> Result<Smm> {
    check_attrs(e, p, &["state"])?;
    let mut smm = Smm {
        state: on_off(e, p, "state")?,
        tseg_mib: None,
    };
    for child in plain_children(e, p) {
        let (t, tp) = child?;
        if t.name != "tseg" {
            return Err(unsupported_element(p, t));
        }
        leaf(t, &tp, &["unit"])?;
        let kib = parse_memory(t, &tp)?;
        if kib % 1024 != 0 {
            return Err(bad_value(
                t,
                &tp,
                "unit",
                t.attr("unit").unwrap_or("KiB"),
                "a size divisible by 1 MiB (QEMU takes the SMM TSEG size in MiB)",
            ));
        }
        set_once(&mut smm.tseg_mib, kib / 1024, p, t)?;
    }
    if smm.state == Some(false) && smm.tseg_mib.is_some() {
        return Err(Error::xml(format!(
            "XML error: <tseg> needs SMM enabled: drop it or use <smm state='on'> (at {p}, line {})",
            e.line
        )));
    }
    Ok(smm)
}

/// `<kvm>` with `<hidden>`, `<hint-dedicated>`, `<poll-control>`, `<pv-ipi>`.
fn parse_kvm(e: &Node, p: &str) -> Result<KvmFeatures> {
    check_attrs(e, p, &[])?;
    let mut k = KvmFeatures::default();
    for child in plain_children(e, p) {
        let (c, cp) = child?;
        let slot = match c.name.as_str() {
            "hidden" => &mut k.hidden,
            "hint-dedicated" => &mut k.hint_dedicated,
            "poll-control" => &mut k.poll_control,
            "pv-ipi" => &mut k.pv_ipi,
            _ => return Err(unsupported_element(p, c)),
        };
        no_children(c, &cp)?;
        let s = state(c, &cp, true)?.unwrap_or_default();
        set_once(slot, s, p, c)?;
    }
    Ok(k)
}
