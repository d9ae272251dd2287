//! The driver's domain lookups over its in-memory table (`table.rs`): persistent
//! definitions under `etc/qemu`, running domains through their status files under
//! `run/qemu`; a running domain's QEMU and supervisor are checked against the process
//! table on every look (`recovery.rs`: a QEMU that is gone is cleaned up after, a QEMU
//! whose supervisor is gone is re-adopted or, mid-start, killed), and the per-domain
//! lock (`run/qemu/NAME.lock`, 0600: only the managing uid can open, hence `flock`, it).

use crate::driver::QemuDriver;
use crate::process;
use oxvirt_core::domain::Domain;
use oxvirt_core::driver::{DomainKey, DomainSummary};
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

pub(crate) use crate::table::Entry;

impl QemuDriver {
    pub(crate) fn lock(&self, name: &str) -> Result<nix::fcntl::Flock<File>> {
        let path = self.layout.domain_lock(name);
        lock_file(&path)
    }

    /// Every domain's summary, sorted by name: one pass over the table; only the
    /// running ones are checked against the process table (two `/proc` reads each).
    pub(crate) fn summaries(&self) -> Result<Vec<DomainSummary>> {
        let all = self.table.map_all(|e| {
            let live = e.status.as_ref().map(|st| {
                (
                    st.pid,
                    st.start_time,
                    st.supervisor_pid,
                    st.supervisor_start_time,
                )
            });
            (e.summary(), live)
        })?;
        let mut out = Vec::with_capacity(all.len());
        for (s, live) in all {
            match live {
                Some((pid, start, spid, sstart)) if !managed(pid, start, spid, sstart) => {
                    // Its QEMU or supervisor is gone: recovery decides, then reread.
                    if let Some(e) = self.checked(&s.name)? {
                        out.push(e.summary());
                    }
                }
                None if self.layout.journal(&s.name).exists() => {
                    // A start or stop was interrupted before a status file: replay.
                    if let Some(e) = self.checked(&s.name)? {
                        out.push(e.summary());
                    }
                }
                _ => out.push(s),
            }
        }
        Ok(out)
    }

    /// The domain `key` names, its status checked against the process table.
    pub(crate) fn entry(&self, key: &DomainKey) -> Result<Arc<Entry>> {
        if let DomainKey::Name(n) = key {
            if n.is_empty() || n.contains('/') || n.starts_with('.') {
                return Err(no_domain(key));
            }
        }
        let e = self.table.get(key)?.ok_or_else(|| no_domain(key))?;
        match &e.status {
            Some(st)
                if !managed(
                    st.pid,
                    st.start_time,
                    st.supervisor_pid,
                    st.supervisor_start_time,
                ) =>
            {
                self.checked(&e.name)?.ok_or_else(|| no_domain(key))
            }
            // A journal without a status file: a start or stop was interrupted before
            // QEMU was recorded (one stat per look; recovery replays it).
            None if self.layout.journal(&e.name).exists() => {
                self.checked(&e.name)?.ok_or_else(|| no_domain(key))
            }
            _ => Ok(e),
        }
    }

    /// `name` after recovery looked at its status (a QEMU or supervisor gone), reread.
    fn checked(&self, name: &str) -> Result<Option<Arc<Entry>>> {
        self.refresh(name)?;
        self.table.reload(name)?;
        self.table.get(&DomainKey::Name(name.to_string()))
    }

    pub(crate) fn summary(&self, e: &Entry) -> Result<DomainSummary> {
        Ok(e.summary())
    }

    /// Reject a definition whose name or uuid belongs to another domain.
    pub(crate) fn check_identity(&self, dom: &Domain) -> Result<()> {
        for s in self.table.owners(&dom.name, &dom.uuid)? {
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

/// QEMU (pid + start time) and its supervisor both run: the status file is current.
fn managed(pid: u32, start_time: u64, supervisor_pid: u32, supervisor_start: u64) -> bool {
    process::is_alive(pid, start_time)
        && crate::recovery::supervisor_alive_pid(supervisor_pid, supervisor_start)
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
