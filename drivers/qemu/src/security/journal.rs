//! The relabel journal `run/qemu/NAME.journal` and the side effects it protects:
//! [`apply`] writes it, then labels every resource and creates the VM's cgroup (as the
//! plan says); [`recover`] undoes what a journal records and removes it; [`reserve`]
//! re-registers the labels of a VM being re-adopted. A process killed at any point
//! leaves the journal behind for the next one.

use super::{vm_context, SecurityPlan, SecuritySpec};
use crate::cgroup;
use crate::resources::precreate_chardev_files;
use crate::status::write_atomic;
use oxvirt_core::domain::{format_domain_xml, parse_domain_xml, FormatOptions, SecLabel};
use oxvirt_core::security::{Confinement, Resource};
use oxvirt_core::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What was (or is about to be) relabelled for a running VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// The domain's definition as started, without secrets (names the VM for the
    /// backends).
    pub domain_xml: String,
    pub security: SecuritySpec,
    pub labels: Vec<SecLabel>,
    pub resources: Vec<Resource>,
    pub cgroup: Option<PathBuf>,
    /// Which hierarchy `cgroup` is in (absent in journals from before cgroup v2: v1).
    #[serde(default)]
    pub cgroup_kind: Option<cgroup::Kind>,
    /// The supervisor that wrote it (for diagnosis).
    pub supervisor_pid: u32,
    /// The VM's id (names its directories; absent in older journals).
    #[serde(default)]
    pub id: Option<u32>,
    /// The confinement QEMU was started with (what `oxvirt confinement` reports for a
    /// running VM; absent in older journals).
    #[serde(default)]
    pub confinement: Option<Confinement>,
}

impl Journal {
    pub fn write(&self, path: &Path) -> Result<()> {
        let data = serde_json::to_vec_pretty(self).map_err(|e| Error::internal(e.to_string()))?;
        write_atomic(path, &data)
    }

    pub fn read(path: &Path) -> Result<Option<Journal>> {
        match std::fs::read(path) {
            Ok(data) => serde_json::from_slice(&data).map(Some).map_err(|e| {
                Error::internal(format!(
                    "relabel journal '{}' is damaged ({e}); restore the owners of the VM's files by hand and remove it",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::system(format!("cannot read '{}'", path.display()), e)),
        }
    }
}

/// The domain XML with its passwords removed (the journal needs no secret).
fn without_secrets(domain_xml: &str) -> Result<String> {
    let mut dom = parse_domain_xml(domain_xml)?;
    for g in &mut dom.devices.graphics {
        g.passwd = None;
    }
    Ok(format_domain_xml(&dom, FormatOptions { live: true }))
}

/// Carry out the host side of `plan` for the VM in `domain_xml`: write the journal
/// (first: from here on a crash is recoverable), label every resource, create the cgroup
/// with its device ACL. On failure everything done is undone and the journal removed.
pub fn apply(
    spec: &SecuritySpec,
    domain_xml: &str,
    plan: &SecurityPlan,
    journal_path: &Path,
) -> Result<()> {
    let dom = parse_domain_xml(domain_xml)?;
    let mgr = spec.manager()?;
    precreate_chardev_files(&plan.resources)
        .map_err(|e| Error::system("cannot create a chardev file of the domain", e))?;
    let cg = plan.confinement.cgroup.as_ref();
    let cgroup_kind = cg.map(|c| cgroup::Kind::from_name(&c.kind)).transpose()?;
    let rules: Vec<cgroup::DeviceRule> = match cg {
        Some(c) => c
            .devices
            .iter()
            .map(|l| cgroup::DeviceRule::parse(l))
            .collect::<Result<_>>()?,
        None => Vec::new(),
    };
    Journal {
        domain_xml: without_secrets(domain_xml)?,
        security: spec.clone(),
        labels: plan.labels.clone(),
        resources: plan.resources.clone(),
        cgroup: cg.map(|c| c.path.clone()),
        cgroup_kind,
        supervisor_pid: std::process::id(),
        id: dom.id,
        confinement: Some(plan.confinement.clone()),
    }
    .write(journal_path)?;
    let vm = vm_context(&dom, spec.settings.privileged);
    if let Err(e) = mgr.set_all_labels(&vm, &plan.labels, &plan.resources) {
        // set_all_labels rolled back what it did; nothing else happened yet.
        let _ = mgr.release_labels(&vm, &plan.labels);
        let _ = std::fs::remove_file(journal_path);
        return Err(e);
    }
    if let (Some(kind), Some(c)) = (cgroup_kind, cg) {
        if let Err(e) = cgroup::create(kind, &c.path, &rules) {
            let _ = recover(journal_path);
            return Err(e);
        }
    }
    Ok(())
}

/// Undo what the journal at `path` records (labels, cgroup) and remove it. No journal:
/// nothing to do. The caller must know that no QEMU of this VM runs.
pub fn recover(path: &Path) -> Result<()> {
    let Some(j) = Journal::read(path)? else {
        return Ok(());
    };
    let dom = parse_domain_xml(&j.domain_xml)?;
    let vm = vm_context(&dom, j.security.settings.privileged);
    let mgr = j.security.manager()?;
    let restored = mgr.restore_all_labels(&vm, &j.labels, &j.resources);
    let released = mgr.release_labels(&vm, &j.labels);
    let cg = match &j.cgroup {
        Some(dir) => cgroup::remove(dir),
        None => Ok(()),
    };
    restored?;
    released?;
    cg?;
    std::fs::remove_file(path)
        .map_err(|e| Error::system(format!("cannot remove '{}'", path.display()), e))
}

/// The context of the supervisor's QMP connection to the VM the journal at `path`
/// records (SELinux), for a supervisor that re-adopts it.
pub fn monitor_socket_label(path: &Path) -> Result<Option<String>> {
    let Some(j) = Journal::read(path)? else {
        return Ok(None);
    };
    let dom = parse_domain_xml(&j.domain_xml)?;
    let mgr = j.security.manager()?;
    let vm = vm_context(&dom, j.security.settings.privileged);
    Ok(mgr
        .confinement(&vm, &j.labels, &j.resources)?
        .monitor_socket_label)
}

/// Re-register the labels of a VM that is being re-adopted.
pub fn reserve(path: &Path) -> Result<()> {
    let Some(j) = Journal::read(path)? else {
        return Ok(());
    };
    let dom = parse_domain_xml(&j.domain_xml)?;
    let mgr = j.security.manager()?;
    mgr.reserve_labels(&vm_context(&dom, j.security.settings.privileged), &j.labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_keeps_no_password() {
        let xml = "<domain type='qemu'><name>s</name><memory>1024</memory><os><type>hvm</type></os>\
                   <devices><graphics type='vnc' port='-1' autoport='yes' passwd='s3cr3t-pw'/></devices></domain>";
        let out = without_secrets(xml).unwrap();
        assert!(!out.contains("s3cr3t-pw"), "{out}");
        assert!(out.contains("<graphics type='vnc'"), "{out}");
    }

    #[test]
    fn a_damaged_journal_is_an_error_naming_it_and_a_missing_one_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.journal");
        assert!(recover(&p).is_ok());
        std::fs::write(&p, b"{not json").unwrap();
        let e = recover(&p).unwrap_err();
        assert!(e.message.contains("x.journal") && e.message.contains("damaged"));
    }
}
