//! The domain table of one root: persistent definitions under `etc/qemu`, running
//! domains through their status files under `run/qemu`, checked against the process
//! table on every look (`recovery.rs`: a QEMU that is gone is cleaned up after, a QEMU
//! whose supervisor is gone is re-adopted or, mid-start, killed), and the per-domain
//! lock (`run/qemu/NAME.lock`, 0600: only the managing uid can open, hence `flock`, it).

use crate::driver::QemuDriver;
use crate::status::Status;
use oxvirt_core::domain::{parse_domain_xml, Domain};
use oxvirt_core::driver::{DomainKey, DomainState, DomainSummary, StateReason};
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

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
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| Error::system(format!("cannot open lock file '{}'", path.display()), e))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::system(format!("cannot lock '{}'", path.display()), e))
}
