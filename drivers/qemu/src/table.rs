//! The driver's in-memory domain table: every domain of the root by name, with indexes by
//! uuid and by id, loaded from the files once and then kept current, so a lookup costs
//! the same with ten domains as with ten thousand.
//!
//! The files stay the durable truth (`etc/qemu/NAME.xml`, `run/qemu/NAME.xml`,
//! `run/qemu/NAME.shutoff`, all written atomically). The table is kept current by
//! - the driver's own writes: the verb calls [`Table::reload`] for the name it wrote;
//! - everyone else's writes (supervisors, other processes on the same root): an inotify
//!   watch on `etc/qemu` and `run/qemu` (`table/watch.rs`) names the files that changed,
//!   and the next call rereads those names only. A lost inotify queue (overflow), or no
//!   inotify at all, makes the next call reread everything.
//!
//! Loading is lazy: a lookup by name reads only that domain's files (the embedded CLI,
//! one command per process, never reads the others); a lookup by uuid or id, a listing
//! or a define (its identity check) loads the whole root once.
//!
//! The table records the definition changes it sees (a domain defined, undefined) for the
//! daemon's lifecycle events once [`Table::take_changes`] has been called; state changes
//! come from the supervisors' notifications (`notify.rs`).

mod watch;

use crate::paths::RootLayout;
use crate::status::Status;
use oxvirt_core::domain::{parse_domain_xml, Domain};
use oxvirt_core::driver::{DomainChange, DomainKey, DomainState, DomainSummary, StateReason};
use oxvirt_core::{Error, Result};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use uuid::Uuid;
use watch::{domain_file_name, Watch};

/// One domain known to the driver: its persistent definition and/or live status.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) uuid: Uuid,
    pub(crate) definition: Option<Domain>,
    pub(crate) status: Option<Status>,
    /// Why a persistent domain last stopped (`NAME.shutoff`).
    pub(crate) shutoff: StateReason,
}

impl Entry {
    /// What lookups and listings return, from the cached files (no liveness check).
    pub(crate) fn summary(&self) -> DomainSummary {
        match &self.status {
            Some(st) => DomainSummary {
                name: self.name.clone(),
                uuid: self.uuid,
                id: Some(st.id),
                state: st.state,
                reason: st.reason,
                persistent: self.definition.is_some(),
            },
            None => DomainSummary {
                name: self.name.clone(),
                uuid: self.uuid,
                id: None,
                state: DomainState::Shutoff,
                reason: self.shutoff,
                persistent: true,
            },
        }
    }
}

/// The domain table of one open driver.
pub(crate) struct Table {
    layout: RootLayout,
    inner: Mutex<Inner>,
    /// A duplicate of the inotify descriptor, to wait on without the table's lock.
    wake: Option<std::os::fd::OwnedFd>,
}

#[derive(Default)]
struct Inner {
    /// Sorted by name, as listings return them.
    entries: BTreeMap<String, Arc<Entry>>,
    by_uuid: HashMap<Uuid, String>,
    by_id: HashMap<u32, String>,
    /// Every domain of the root is in `entries` (else only those looked up by name).
    complete: bool,
    /// The inotify watch; `None`: every call rereads the root.
    watch: Option<Watch>,
    /// Definition changes for the daemon's events, once asked for.
    changes: Option<Vec<DomainChange>>,
}

impl Table {
    /// An empty table watching `layout`'s definition and status directories.
    pub(crate) fn new(layout: &RootLayout) -> Table {
        let watch = match Watch::new(layout) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(
                    "cannot watch '{}' with inotify ({e}); every call rereads the root",
                    layout.root.display()
                );
                None
            }
        };
        let wake = watch.as_ref().and_then(|w| w.dup_fd().ok());
        Table {
            layout: layout.clone(),
            wake,
            inner: Mutex::new(Inner {
                watch,
                ..Inner::default()
            }),
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The domain `key` names, as its files say now.
    pub(crate) fn get(&self, key: &DomainKey) -> Result<Option<Arc<Entry>>> {
        let mut inner = self.inner();
        self.sync(&mut inner)?;
        let name = match key {
            DomainKey::Name(n) => {
                if !inner.complete && !inner.entries.contains_key(n) {
                    self.load(&mut inner, n)?;
                }
                Some(n.clone())
            }
            DomainKey::Uuid(u) => {
                self.complete(&mut inner)?;
                inner.by_uuid.get(u).cloned()
            }
            DomainKey::Id(i) => {
                self.complete(&mut inner)?;
                inner.by_id.get(i).cloned()
            }
        };
        Ok(name.and_then(|n| inner.entries.get(&n).cloned()))
    }

    /// The names of the domains with this name or this uuid (for the identity check).
    pub(crate) fn owners(&self, name: &str, uuid: &Uuid) -> Result<Vec<DomainSummary>> {
        let mut inner = self.inner();
        self.sync(&mut inner)?;
        self.complete(&mut inner)?;
        let mut names = vec![name.to_string()];
        names.extend(inner.by_uuid.get(uuid).cloned());
        Ok(names
            .iter()
            .filter_map(|n| inner.entries.get(n).map(|e| e.summary()))
            .collect())
    }

    /// Every domain, sorted by name, with `f` applied (under the table's lock: keep it
    /// short, no file or process work).
    pub(crate) fn map_all<T>(&self, mut f: impl FnMut(&Entry) -> T) -> Result<Vec<T>> {
        let mut inner = self.inner();
        self.sync(&mut inner)?;
        self.complete(&mut inner)?;
        Ok(inner.entries.values().map(|e| f(e)).collect())
    }

    /// Reread `name`'s files now: after the driver wrote them, or after recovery.
    pub(crate) fn reload(&self, name: &str) -> Result<()> {
        let mut inner = self.inner();
        self.load(&mut inner, name)
    }

    /// The definition changes since the last call; the first call starts recording.
    pub(crate) fn take_changes(&self) -> Vec<DomainChange> {
        let mut inner = self.inner();
        if let Err(e) = self.sync(&mut inner) {
            tracing::warn!("domain table: {e}");
        }
        inner.changes.replace(Vec::new()).unwrap_or_default()
    }

    /// A descriptor that becomes readable when a watched file changes.
    pub(crate) fn wake_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        self.wake.as_ref().map(|f| f.as_fd())
    }

    /// Apply what the inotify watch reports: reread the names whose files changed.
    fn sync(&self, inner: &mut Inner) -> Result<()> {
        let Some(watch) = inner.watch.as_mut() else {
            inner.complete = false;
            return self.complete(inner);
        };
        let changed = watch.changed_names();
        let names: HashSet<String> = match changed {
            Some(names) => names,
            None => {
                // The queue overflowed: some changes are unknown, reread everything.
                inner.complete = false;
                return self.complete(inner);
            }
        };
        for name in names {
            if inner.complete || inner.entries.contains_key(&name) {
                self.load(inner, &name)?;
            }
        }
        Ok(())
    }

    /// Load every domain of the root (once; again after an inotify overflow).
    fn complete(&self, inner: &mut Inner) -> Result<()> {
        if inner.complete {
            return Ok(());
        }
        let mut names: HashSet<String> = inner.entries.keys().cloned().collect();
        for dir in [self.layout.definitions_dir(), self.layout.status_dir()] {
            let rd = std::fs::read_dir(&dir)
                .map_err(|e| Error::system(format!("cannot list '{}'", dir.display()), e))?;
            for ent in rd.flatten() {
                let fname = ent.file_name().to_string_lossy().into_owned();
                if let Some(name) = domain_file_name(&fname) {
                    names.insert(name.to_string());
                }
            }
        }
        for name in names {
            self.load(inner, &name)?;
        }
        inner.complete = true;
        Ok(())
    }

    /// Read `name`'s files into the table (or drop it when it has none).
    fn load(&self, inner: &mut Inner, name: &str) -> Result<()> {
        let fresh = self.read_entry(name)?.map(Arc::new);
        let old = inner.entries.remove(name);
        if let Some(o) = &old {
            inner.by_uuid.remove(&o.uuid);
            if let Some(st) = &o.status {
                inner.by_id.remove(&st.id);
            }
        }
        if let Some(e) = &fresh {
            inner.by_uuid.insert(e.uuid, name.to_string());
            if let Some(st) = &e.status {
                inner.by_id.insert(st.id, name.to_string());
            }
        }
        if let Some(changes) = inner.changes.as_mut() {
            changes.extend(definition_change(old.as_deref(), fresh.as_deref()));
        }
        if let Some(e) = fresh {
            inner.entries.insert(name.to_string(), e);
        }
        Ok(())
    }

    fn read_entry(&self, name: &str) -> Result<Option<Entry>> {
        let definition = match std::fs::read_to_string(self.layout.definition(name)) {
            Ok(text) => Some(parse_definition(&text, &self.layout.definition(name))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                let path = self.layout.definition(name);
                return Err(Error::system(
                    format!("cannot read '{}'", path.display()),
                    e,
                ));
            }
        };
        let status = Status::read(&self.layout.status(name))?;
        let uuid = match (&status, &definition) {
            (Some(st), _) => parse_domain_xml(&st.domain_xml)?.uuid,
            (None, Some(d)) => d.uuid,
            (None, None) => return Ok(None),
        };
        let shutoff = std::fs::read_to_string(self.layout.shutoff_reason(name))
            .map(|s| StateReason::from_status_str(s.trim()))
            .unwrap_or(StateReason::Unknown);
        Ok(Some(Entry {
            name: name.to_string(),
            uuid,
            definition,
            status,
            shutoff,
        }))
    }
}

pub(crate) fn parse_definition(text: &str, path: &Path) -> Result<Domain> {
    parse_domain_xml(text).map_err(|e| {
        Error::new(
            e.code,
            e.domain,
            format!("definition '{}' is invalid: {}", path.display(), e.message),
        )
    })
}

/// The event-worthy part of a reload: a definition appearing or going away. State
/// changes are the supervisors' to report, so both sides carry the current state.
fn definition_change(old: Option<&Entry>, new: Option<&Entry>) -> Option<DomainChange> {
    let persistent = |e: Option<&Entry>| e.is_some_and(|e| e.definition.is_some());
    if persistent(old) == persistent(new) {
        return None;
    }
    let now = new.or(old)?;
    let mut after = now.summary();
    after.persistent = persistent(new);
    let mut before = after.clone();
    before.persistent = persistent(old);
    let exists = |s: &DomainSummary| s.persistent || s.state.is_active();
    Some(DomainChange {
        before: exists(&before).then_some(before),
        after: exists(&after).then_some(after),
    })
}
