//! What any process that opens the root does about a VM whose supervisor is gone,
//! under the domain lock:
//!
//! | status file | QEMU (pid + start time) | supervisor | action |
//! |---|---|---|---|
//! | none, journal left | cannot run (the gate) | — | replay the journal |
//! | any | alive | alive | nothing: it is managed |
//! | paused, starting up | alive | gone | the start never finished: kill QEMU, then clean up |
//! | other states | alive | gone | adopt: a new supervisor takes QEMU over |
//! | any | gone | gone | clean up: labels back (journal), files removed |
//!
//! Labels are given back only once no QEMU of the VM runs: a QEMU is only ever killed
//! through a pidfd checked against the start time the status file recorded *before* it
//! could exec (`launch::spawn`), and waited for, before the journal is replayed.

use crate::driver::QemuDriver;
use crate::process;
use crate::security;
use crate::status::{write_atomic, Status};
use oxvirt_core::driver::StateReason;
use oxvirt_core::{Error, Result};
use std::time::{Duration, Instant};

/// How long a QEMU gets to die after SIGKILL before recovery gives up (and restores
/// nothing).
const KILL_TIMEOUT: Duration = Duration::from_secs(20);

impl QemuDriver {
    /// The live status of `name`, checked against the process table: a QEMU that is gone
    /// is cleaned up after, a QEMU whose supervisor is gone is re-adopted (or killed, if
    /// its start never finished).
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
            // A journal without a status file: a start died before its QEMU was
            // recorded (so it never exec'd), or a stop between QEMU's exit and the
            // restore. A supervisor that is still starting holds the lock: not this.
            self.recover_journal_only(name);
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
            if st.reason == StateReason::StartingUp {
                tracing::info!(
                    "domain '{name}': its start was interrupted (QEMU pid {} never ran the \
                     guest); stopping it",
                    st.pid
                );
                self.abandon(name, &st, StateReason::Failed)?;
                return Ok(None);
            }
            self.adopt(name, &st)?;
            return Status::read(&path);
        }
        // Nobody is left: put the labels back, then clean up after the VM.
        self.abandon(name, &st, StateReason::Unknown)?;
        Ok(None)
    }

    /// Start a new supervisor for a QEMU whose supervisor died.
    pub(crate) fn adopt(&self, name: &str, st: &Status) -> Result<()> {
        let spec = self.adopt_spec(name, st)?;
        tracing::info!("re-adopting domain '{name}' (QEMU pid {})", st.pid);
        self.spawn_supervisor(&spec)?.into_result(&spec)
    }

    /// Clean up after the VM of `st`, whose supervisor is gone: its QEMU killed if it
    /// still runs (and waited for), then the labels restored, the files removed and
    /// `reason` recorded. Nothing is restored while that QEMU lives.
    pub(crate) fn abandon(&self, name: &str, st: &Status, reason: StateReason) -> Result<()> {
        if !process::kill_verified(st.pid, st.start_time, KILL_TIMEOUT) {
            return Err(Error::operation_failed(format!(
                "QEMU pid {} of domain '{name}' did not exit after SIGKILL; its files keep \
                 their labels until it is gone",
                st.pid
            )));
        }
        security::recover(&self.layout.journal(name))?;
        if st.persistent {
            let _ = write_atomic(
                &self.layout.shutoff_reason(name),
                reason.as_status_str().as_bytes(),
            );
        }
        self.remove_vm_files(name, st.id);
        let path = self.layout.status(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::system(
                    format!("cannot remove '{}'", path.display()),
                    e,
                ))
            }
            _ => {}
        }
        // The supervisor cannot announce this stop any more: say it in its place.
        let uuid = oxvirt_core::domain::parse_domain_xml(&st.domain_xml)
            .map(|d| d.uuid)
            .unwrap_or_default();
        let before = Some((st.state, st.reason));
        let after = (oxvirt_core::driver::DomainState::Shutoff, reason);
        let note = crate::notify::Note::new(name, uuid, st.id, st.persistent, before, after);
        crate::notify::publish(&self.layout.status_dir(), &note);
        Ok(())
    }

    /// Replay a journal that no status file goes with, and remove the VM's directories.
    pub(crate) fn recover_journal_only(&self, name: &str) {
        let journal = self.layout.journal(name);
        let id = match security::Journal::read(&journal) {
            Ok(Some(j)) => j.id,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("{e}");
                return;
            }
        };
        tracing::info!("restoring labels of domain '{name}' left by an interrupted start or stop");
        if let Err(e) = security::recover(&journal) {
            tracing::warn!("{e}");
            return;
        }
        if let Some(id) = id {
            self.remove_vm_files(name, id);
        }
    }

    /// The control socket and the runtime and private directories of VM `id`.
    fn remove_vm_files(&self, name: &str, id: u32) {
        let _ = std::fs::remove_file(self.layout.control_socket(id, name));
        let _ = std::fs::remove_dir_all(self.layout.runtime_dir(id, name));
        let _ = std::fs::remove_dir_all(self.layout.domain_dir(id, name));
    }
}

/// The supervisor named in a status file still runs (not a zombie, and started when the
/// status file says — a reused pid is not our supervisor).
pub(crate) fn supervisor_alive(st: &Status) -> bool {
    supervisor_alive_pid(st.supervisor_pid, st.supervisor_start_time)
}

/// [`supervisor_alive`] from the two numbers.
pub(crate) fn supervisor_alive_pid(pid: u32, start_time: u64) -> bool {
    if pid == 0 {
        return false;
    }
    match process::stat(pid) {
        Some(s) if s.state == 'Z' || s.state == 'X' => false,
        Some(s) => start_time == 0 || s.start_time == start_time,
        None => false,
    }
}
