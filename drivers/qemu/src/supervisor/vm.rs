//! What a supervisor tracks about its VM while the event loop runs, and the VM's files
//! it removes when the VM is gone.

use super::qemu::Qemu;
use crate::control::LaunchSpec;
use crate::notify::Note;
use crate::status::Status;
use oxvirt_core::driver::{DomainState, StateReason};

/// Everything the event loop tracks.
pub(super) struct Supervisor {
    pub(super) spec: LaunchSpec,
    pub(super) status: Status,
    pub(super) qemu: Qemu,
    /// Why QEMU is going away, once known.
    pub(super) stop_reason: Option<StateReason>,
    /// STOP / RESUME events still to come from our own `stop` / `cont` (or from
    /// `-no-shutdown` pausing a guest that powered off): they change no reason.
    pub(super) expected_stops: u32,
    pub(super) expected_resumes: u32,
}

impl Supervisor {
    /// Tell the root's listeners (the daemon) about a state change (`notify.rs`).
    pub(super) fn announce(
        &self,
        before: Option<(DomainState, StateReason)>,
        after: (DomainState, StateReason),
    ) {
        announce(&self.spec, self.status.persistent, before, after);
    }
}

/// [`Supervisor::announce`] before the event loop runs.
pub(super) fn announce(
    spec: &LaunchSpec,
    persistent: bool,
    before: Option<(DomainState, StateReason)>,
    after: (DomainState, StateReason),
) {
    let Some(dir) = spec.status.parent() else {
        return;
    };
    let uuid = oxvirt_core::domain::parse_domain_xml(&spec.domain_xml)
        .map(|d| d.uuid)
        .unwrap_or_default();
    let note = Note::new(&spec.name, uuid, spec.id, persistent, before, after);
    crate::notify::publish(dir, &note);
}

/// Remove what a running VM leaves on disk (status file, control socket, runtime and
/// private dirs).
pub(super) fn cleanup_files(spec: &LaunchSpec) {
    let _ = std::fs::remove_file(&spec.status);
    let _ = std::fs::remove_file(&spec.control);
    let _ = std::fs::remove_dir_all(&spec.runtime_dir);
    let _ = std::fs::remove_dir_all(&spec.domain_dir);
}
