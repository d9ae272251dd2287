//! The domain table of one root: persistent definitions under `etc/qemu`, running
//! domains through their status files under `run/qemu`, checked against the process
//! table on every look (a QEMU that is gone is cleaned up after, a QEMU whose supervisor
//! is gone is re-adopted), and the per-domain lock.

use crate::driver::QemuDriver;
use crate::process;
use crate::security;
use crate::status::{write_atomic, Status};
use oxvirt_core::domain::{parse_domain_xml, Domain};
use oxvirt_core::driver::{DomainKey, DomainState, DomainSummary, StateReason};
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

/// One domain known to the driver: its persistent definition and/or live status.
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) definition: Option<Domain>,
    pub(crate) status: Option<Status>,
}

impl QemuDriver {
    pub(crate) fn lock(&self, name: &str) -> Result<nix::fcntl::Flock<File>> {
        let path = self.layout.domain_lock(name);
        lock_file(&path)
    }

    pub(crate) fn read_definition(&self, path: &Path) -> Result<Domain> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::system(format!("cannot read '{}'", path.display()), e))?;
        parse_domain_xml(&text).map_err(|e| {
            Error::new(
                e.code,
                e.domain,
                format!("definition '{}' is invalid: {}", path.display(), e.message),
            )
        })
    }

    /// Every domain: persistent definitions plus running transient ones.
    pub(crate) fn entries(&self) -> Result<Vec<Entry>> {
        let mut names: Vec<String> = Vec::new();
        for dir in [self.layout.definitions_dir(), self.layout.status_dir()] {
            let rd = std::fs::read_dir(&dir)
                .map_err(|e| Error::system(format!("cannot list '{}'", dir.display()), e))?;
            for ent in rd.flatten() {
                let fname = ent.file_name().to_string_lossy().into_owned();
                if fname.starts_with('.') {
                    continue;
                }
                if let Some(name) = fname.strip_suffix(".xml") {
                    if !names.iter().any(|n| n == name) {
                        names.push(name.to_string());
                    }
                }
            }
        }
        names.sort();
        let mut out = Vec::new();
        for name in names {
            if let Some(e) = self.named_entry(&name)? {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// The domain called `name`, if it exists (definition and/or live status).
    pub(crate) fn named_entry(&self, name: &str) -> Result<Option<Entry>> {
        let def_path = self.layout.definition(name);
        let definition = if def_path.exists() {
            Some(self.read_definition(&def_path)?)
        } else {
            None
        };
        let status = self.refresh(name)?;
        if definition.is_none() && status.is_none() {
            return Ok(None);
        }
        Ok(Some(Entry {
            name: name.to_string(),
            definition,
            status,
        }))
    }

    /// The live status of `name`, checked against the process table: a QEMU that is gone
    /// is cleaned up after, a QEMU whose supervisor is gone is re-adopted.
    pub(crate) fn refresh(&self, name: &str) -> Result<Option<Status>> {
        match Status::read(&self.layout.status(name))? {
            None if !self.layout.journal(name).exists() => return Ok(None),
            Some(st) if process::is_alive(st.pid, st.start_time) && supervisor_alive(&st) => {
                return Ok(Some(st))
            }
            _ => {}
        }
        let _guard = self.lock(name)?;
        self.refresh_locked(name)
    }

    /// [`QemuDriver::refresh`] for a caller that holds the domain lock.
    pub(crate) fn refresh_locked(&self, name: &str) -> Result<Option<Status>> {
        let path = self.layout.status(name);
        let Some(st) = Status::read(&path)? else {
            // A journal without a status file: a start died between labelling and QEMU,
            // or a stop between QEMU's exit and the restore (a supervisor that is still
            // starting holds the lock, so it is not this).
            let journal = self.layout.journal(name);
            if journal.exists() {
                tracing::info!(
                    "restoring labels of domain '{name}' left by an interrupted start or stop"
                );
                if let Err(e) = security::recover(&journal) {
                    tracing::warn!("{e}");
                }
            }
            return Ok(None);
        };
        if supervisor_alive(&st) {
            if process::is_alive(st.pid, st.start_time) {
                return Ok(Some(st));
            }
            // QEMU is gone and its supervisor is finishing: wait for its cleanup.
            let deadline = Instant::now() + Duration::from_secs(5);
            while path.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if !path.exists() {
                return Ok(None);
            }
        }
        if process::is_alive(st.pid, st.start_time) {
            self.adopt(name, &st)?;
            return Status::read(&path);
        }
        // Nobody is left: put the labels back, then clean up after the VM.
        security::recover(&self.layout.journal(name))?;
        let domain = parse_domain_xml(&st.domain_xml).ok();
        if st.persistent {
            let _ = write_atomic(&self.layout.shutoff_reason(name), b"unknown");
        }
        let _ = std::fs::remove_file(&st.control);
        if let Some(d) = domain {
            let _ = std::fs::remove_dir_all(self.layout.runtime_dir(st.id, &d.name));
            let _ = std::fs::remove_dir_all(self.layout.domain_dir(st.id, &d.name));
        }
        std::fs::remove_file(&path)
            .map_err(|e| Error::system(format!("cannot remove '{}'", path.display()), e))?;
        Ok(None)
    }

    /// Start a new supervisor for a QEMU whose supervisor died.
    pub(crate) fn adopt(&self, name: &str, st: &Status) -> Result<()> {
        let spec = self.adopt_spec(name, st)?;
        tracing::info!("re-adopting domain '{name}' (QEMU pid {})", st.pid);
        self.spawn_supervisor(&spec)
    }

    pub(crate) fn entry(&self, key: &DomainKey) -> Result<Entry> {
        // By name: only that domain's files (the common case; no scan of the others).
        if let DomainKey::Name(n) = key {
            let valid = !n.is_empty() && !n.contains('/') && !n.starts_with('.');
            return match valid.then(|| self.named_entry(n)).transpose()?.flatten() {
                Some(e) => Ok(e),
                None => Err(no_domain(key)),
            };
        }
        for e in self.entries()? {
            let (uuid, id) = match (&e.status, &e.definition) {
                (Some(st), _) => (parse_domain_xml(&st.domain_xml)?.uuid, Some(st.id)),
                (None, Some(d)) => (d.uuid, None),
                (None, None) => continue,
            };
            let hit = match key {
                DomainKey::Name(n) => *n == e.name,
                DomainKey::Uuid(u) => *u == uuid,
                DomainKey::Id(i) => id == Some(*i),
            };
            if hit {
                return Ok(e);
            }
        }
        Err(no_domain(key))
    }

    pub(crate) fn summary(&self, e: &Entry) -> Result<DomainSummary> {
        match &e.status {
            Some(st) => {
                let dom = parse_domain_xml(&st.domain_xml)?;
                Ok(DomainSummary {
                    name: e.name.clone(),
                    uuid: dom.uuid,
                    id: Some(st.id),
                    state: st.state,
                    reason: st.reason,
                    persistent: e.definition.is_some(),
                })
            }
            None => {
                let d = e
                    .definition
                    .as_ref()
                    .ok_or_else(|| Error::no_domain(&e.name))?;
                let reason = std::fs::read_to_string(self.layout.shutoff_reason(&e.name))
                    .map(|s| StateReason::from_status_str(s.trim()))
                    .unwrap_or(StateReason::Unknown);
                Ok(DomainSummary {
                    name: e.name.clone(),
                    uuid: d.uuid,
                    id: None,
                    state: DomainState::Shutoff,
                    reason,
                    persistent: true,
                })
            }
        }
    }

    /// Reject a definition whose name or uuid belongs to another domain.
    pub(crate) fn check_identity(&self, dom: &Domain) -> Result<()> {
        for e in self.entries()? {
            let s = self.summary(&e)?;
            if s.name == dom.name && s.uuid != dom.uuid {
                return Err(Error::new(
                    ErrorCode::OperationFailed,
                    ErrorDomain::Qemu,
                    format!(
                        "operation failed: domain '{}' already exists with uuid {}",
                        s.name, s.uuid
                    ),
                ));
            }
            if s.uuid == dom.uuid && s.name != dom.name {
                return Err(Error::new(
                    ErrorCode::OperationFailed,
                    ErrorDomain::Qemu,
                    format!(
                        "operation failed: domain '{}' is already defined with uuid {}",
                        s.name, s.uuid
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The supervisor named in a status file still runs (not a zombie).
pub(crate) fn supervisor_alive(st: &Status) -> bool {
    st.supervisor_pid != 0
        && process::stat(st.supervisor_pid)
            .map(|s| s.state != 'Z' && s.state != 'X')
            .unwrap_or(false)
}

pub(crate) fn no_domain(key: &DomainKey) -> Error {
    let msg = match key {
        DomainKey::Name(n) => format!("Domain not found: no domain with matching name '{n}'"),
        DomainKey::Uuid(u) => format!("Domain not found: no domain with matching uuid '{u}'"),
        DomainKey::Id(i) => format!("Domain not found: no domain with matching id {i}"),
    };
    Error::new(ErrorCode::NoDomain, ErrorDomain::Qemu, msg)
}

pub(crate) fn lock_file(path: &Path) -> Result<nix::fcntl::Flock<File>> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::system(format!("cannot open lock file '{}'", path.display()), e))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::system(format!("cannot lock '{}'", path.display()), e))
}
