//! Memory and vCPUs: `<memory>` → `-m MiB` (rounded up to a whole MiB, as libvirt on
//! x86) and `-overcommit mem-lock=off`; `<vcpu current>` and `<cpu><topology>` →
//! `-smp N[,maxcpus=M],sockets=S[,dies=D],cores=C,threads=T` (`dies` with a `<topology>`).

use super::plan::Plan;
use super::props::Args;
use oxvirt_core::domain::{CpuTopology, Domain};
use oxvirt_core::{Error, Result};

/// A domain needs memory.
pub(crate) fn check(dom: &Domain) -> Result<()> {
    if dom.memory_kib == 0 {
        return Err(Error::xml(
            "domain has no <memory>; give it one, e.g. <memory unit='MiB'>128</memory>",
        ));
    }
    Ok(())
}

/// `-m` and `-overcommit` (libvirt's `qemuBuildMemCommandLine`).
pub(crate) fn memory(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    a.opt("-m", p.dom.memory_kib.div_ceil(1024).to_string());
    a.opt("-overcommit", "mem-lock=off");
    Ok(())
}

/// `-smp` (libvirt's `qemuBuildSmpCommandLine`).
pub(crate) fn smp(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    let dom = p.dom;
    let smp = match dom.cpu.as_ref().and_then(|c| c.topology.as_ref()) {
        Some(t) => with_topology(dom, t)?,
        None => flat(dom)?,
    };
    a.opt("-smp", smp);
    Ok(())
}

/// Without `<topology>`: one socket per vCPU.
fn flat(dom: &Domain) -> Result<String> {
    let max = dom.vcpu.count;
    if max == 0 {
        return Err(Error::xml("<vcpu> must be at least 1"));
    }
    match dom.vcpu.current {
        Some(cur) if cur == 0 || cur > max => Err(Error::xml(format!(
            "<vcpu current='{cur}'> must be between 1 and the maximum {max}"
        ))),
        Some(cur) if cur < max => Ok(format!(
            "{cur},maxcpus={max},sockets={max},cores=1,threads=1"
        )),
        _ => Ok(format!("{max},sockets={max},cores=1,threads=1")),
    }
}

/// With `<topology>`: its product must be the vCPU count.
fn with_topology(dom: &Domain, t: &CpuTopology) -> Result<String> {
    let sockets = t.sockets.unwrap_or(1);
    let dies = t.dies.unwrap_or(1);
    let cores = t.cores.unwrap_or(1);
    let threads = t.threads.unwrap_or(1);
    let max = dom.vcpu.count;
    let product = u64::from(sockets) * u64::from(dies) * u64::from(cores) * u64::from(threads);
    if product != u64::from(max) {
        return Err(Error::xml(format!(
            "<cpu><topology sockets='{sockets}' dies='{dies}' cores='{cores}' threads='{threads}'> gives {product} vCPUs, but <vcpu> is {max}"
        )));
    }
    let mut s = match dom.vcpu.current {
        Some(cur) if cur < max => format!("{cur},maxcpus={max}"),
        _ => max.to_string(),
    };
    // libvirt 9.0 always writes dies with a <topology> (x86 QEMU has them).
    s.push_str(&format!(",sockets={sockets},dies={dies}"));
    s.push_str(&format!(",cores={cores},threads={threads}"));
    Ok(s)
}
