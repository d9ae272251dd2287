//! `oxvirt confinement DOMAIN`: the confinement report. A running VM's comes from its
//! relabel journal (the exact [`oxvirt_core::security::Confinement`] its QEMU was
//! started with, the labels and resources) and `/proc/PID/status`; a VM that is not
//! running gets the plan the next start would make (`start_spec`, which changes nothing
//! on the host; labels a backend reserved for it, such as an SELinux MCS pair, are
//! released again, under the domain's lock).

use crate::control::Mode;
use crate::domains::no_domain;
use crate::driver::QemuDriver;
use crate::launch;
use crate::process;
use crate::security::{vm_context, Journal, SecuritySpec};
use oxvirt_core::domain::{parse_domain_xml, Domain, SecLabel};
use oxvirt_core::driver::DomainKey;
use oxvirt_core::security::report::{host_paths, ConfinementReport, ModelLabel, ProcessStatus};
use oxvirt_core::security::{Confinement, Resource};
use oxvirt_core::{Error, Result};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What the report is made of, running or planned.
struct Parts {
    id: u32,
    pid: Option<u32>,
    emulator: PathBuf,
    labels: Vec<SecLabel>,
    resources: Vec<Resource>,
    confinement: Confinement,
}

pub(crate) fn confinement_report(drv: &QemuDriver, key: &DomainKey) -> Result<ConfinementReport> {
    let e = drv.entry(key)?;
    let parts = match &e.status {
        Some(st) => running(drv, &e.name, st)?,
        None => planned(drv, e.definition.as_ref().ok_or_else(|| no_domain(key))?)?,
    };
    let process = parts.pid.and_then(|pid| {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        Some(ProcessStatus::parse(&text))
    });
    let mut paths = host_paths(&parts.confinement, &parts.resources, &parts.emulator);
    for p in &mut paths {
        p.owner = owner(&p.path);
    }
    Ok(ConfinementReport {
        domain: e.name.clone(),
        running: e.status.is_some(),
        id: parts.id,
        pid: parts.pid,
        emulator: parts.emulator,
        stack: parts
            .labels
            .iter()
            .filter_map(|l| l.model.clone())
            .collect(),
        labels: parts
            .labels
            .iter()
            .map(|l| ModelLabel {
                model: l.model.clone().unwrap_or_default(),
                label_type: l.label_type.clone(),
                label: l.label.clone(),
            })
            .collect(),
        confinement: parts.confinement,
        landlock_abi: launch::landlock_abi(),
        process,
        paths,
    })
}

/// `UID:GID MODE` of `path` (not following a final symlink).
fn owner(path: &Path) -> Option<String> {
    let m = std::fs::symlink_metadata(path).ok()?;
    Some(format!("{}:{} {:04o}", m.uid(), m.gid(), m.mode() & 0o7777))
}

fn emulator_of(dom: &Domain) -> PathBuf {
    PathBuf::from(dom.devices.emulator.clone().unwrap_or_default())
}

/// A running VM: what its journal records, and its QEMU's pid when it still runs.
fn running(drv: &QemuDriver, name: &str, st: &crate::status::Status) -> Result<Parts> {
    let path = drv.layout.journal(name);
    let j = Journal::read(&path)?.ok_or_else(|| {
        Error::operation_failed(format!(
            "domain '{name}' runs but has no relabel journal '{}'; restart it to get a report",
            path.display()
        ))
    })?;
    let confinement = j.confinement.ok_or_else(|| {
        Error::operation_failed(format!(
            "the journal of domain '{name}' was written by an older build and does not \
             record QEMU's confinement; restart the domain to get a report"
        ))
    })?;
    let live = parse_domain_xml(&st.domain_xml)?;
    Ok(Parts {
        id: st.id,
        pid: process::is_alive(st.pid, st.start_time).then_some(st.pid),
        emulator: emulator_of(&live),
        labels: j.labels,
        resources: j.resources,
        confinement,
    })
}

/// A VM that is not running: the plan of its next start, with the id that start takes.
fn planned(drv: &QemuDriver, dom: &Domain) -> Result<Parts> {
    let _guard = drv.lock(&dom.name)?;
    let id = next_id(drv);
    let spec = drv.start_spec(dom, id, true)?;
    let Mode::Start(start) = spec.mode else {
        return Err(Error::internal("a start spec without a start plan"));
    };
    let plan = start.security;
    let live = parse_domain_xml(&spec.domain_xml)?;
    let security = SecuritySpec::from_config(&drv.config, &drv.layout.root);
    security.manager()?.release_labels(
        &vm_context(&live, security.settings.privileged),
        &plan.labels,
    )?;
    Ok(Parts {
        id,
        pid: None,
        emulator: emulator_of(&live),
        labels: plan.labels,
        resources: plan.resources,
        confinement: plan.confinement,
    })
}

/// The id the next start takes (the counter `next_id` advances), without taking it.
fn next_id(drv: &QemuDriver) -> u32 {
    std::fs::read_to_string(drv.layout.id_counter())
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1)
}
