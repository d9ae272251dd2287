//! `<cpu>` → `-cpu MODEL[,FEATURE=on|off...]`, followed by what `<features>` and
//! `<clock>` put on the CPU (`cpu/paravirt.rs`).
//!
//! No `<cpu>` or no `<model>`: QEMU's default type for the binary (`qemu64`; `qemu32`
//! for `qemu-system-i386`), as libvirt. `host-passthrough` is `host,migratable=on` on KVM and
//! refused under TCG; `maximum` is `max`. `host-model` is
//! approximated (`host` on KVM, `max` on TCG): expanding it to a named model needs the
//! host CPU's probed features. Features: force/require/optional → `on`,
//! disable/forbid → `off` (libvirt's mapping); `vmx` cannot be enabled under TCG.

mod paravirt;

pub(crate) use paravirt::check;

use super::plan::Plan;
use super::props::Args;
use oxvirt_core::domain::{Domain, VirtType};
use oxvirt_core::{Error, Result};

/// `-cpu` (libvirt's `qemuBuildCpuCommandLine`).
pub(crate) fn cpu(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    let dom = p.dom;
    let model = cpu_model(dom)?;
    // libvirt's default CPU follows the binary: qemu32 for qemu-system-i386.
    let model = if model == "qemu64" && p.caps.target == "i386" && !names_model(dom) {
        "qemu32".to_string()
    } else {
        model
    };
    let mut s = with_features(dom, model)?;
    for prop in paravirt::props(dom) {
        s.push(',');
        s.push_str(&prop);
    }
    a.opt("-cpu", s);
    Ok(())
}

/// Whether `<cpu><model>` names the model (rather than QEMU's default being used).
fn names_model(dom: &Domain) -> bool {
    dom.cpu.as_ref().is_some_and(|c| c.model.is_some())
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn cpu_model(dom: &Domain) -> Result<String> {
    let Some(cpu) = &dom.cpu else {
        // libvirt takes QEMU's default CPU type (qemu64) for both TCG and KVM.
        return Ok("qemu64".into());
    };
    let kvm = dom.virt_type == VirtType::Kvm;
    match cpu.mode.as_deref().unwrap_or("custom") {
        "host-passthrough" if kvm => Ok("host,migratable=on".into()),
        "host-passthrough" => Err(Error::unsupported(
            "<cpu mode='host-passthrough'> needs <domain type='kvm'>; TCG cannot pass the host CPU through (use mode='maximum' or a named <model>)",
        )),
        "maximum" => Ok("max".into()),
        // Without probed capabilities host-model cannot be expanded to a named model
        // with features as libvirt does; approximate it.
        "host-model" if kvm => Ok("host".into()),
        "host-model" => Ok("max".into()),
        "custom" => match &cpu.model {
            Some(m) if is_name(m) => Ok(m.clone()),
            Some(m) => Err(Error::xml(format!(
                "<cpu><model>{m}</model>: not a CPU model name"
            ))),
            None => Ok("qemu64".into()),
        },
        other => Err(Error::xml(format!(
            "<cpu mode='{other}'>: unknown mode (use custom, host-model, host-passthrough or maximum)"
        ))),
    }
}

/// `MODEL` plus `,FEATURE=on|off` for each `<cpu><feature>`.
fn with_features(dom: &Domain, model: String) -> Result<String> {
    let Some(cpu) = &dom.cpu else {
        return Ok(model);
    };
    let mut s = model;
    for f in &cpu.features {
        if !is_name(&f.name) {
            return Err(Error::xml(format!(
                "<cpu><feature name='{}'>: not a CPU feature name",
                f.name
            )));
        }
        let on = match f.policy.as_deref().unwrap_or("require") {
            "force" | "require" | "optional" => "on",
            "disable" | "forbid" => "off",
            p => {
                return Err(Error::xml(format!(
                    "<cpu><feature policy='{p}'>: unknown policy"
                )))
            }
        };
        s.push_str(&format!(",{}={on}", f.name));
    }
    if dom.virt_type == VirtType::Qemu && s.contains("vmx=on") {
        return Err(Error::unsupported(
            "<cpu><feature name='vmx'> cannot be enabled under TCG (<domain type='qemu'>)",
        ));
    }
    Ok(s)
}
