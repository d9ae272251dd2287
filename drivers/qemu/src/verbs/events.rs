//! Domain changes for the daemon's lifecycle events: the supervisors' notifications
//! (`notify.rs`: starts, pauses, resumes, stops — each as it happens) and the
//! definitions the domain table saw appear or go (`table.rs`: this driver's own defines
//! and undefines, and other processes' through inotify). Nothing here lists domains.

use crate::driver::QemuDriver;
use crate::notify::Listener;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use oxvirt_core::driver::DomainChange;
use std::os::fd::AsFd;
use std::time::Duration;

fn listener(drv: &QemuDriver) -> Option<&Listener> {
    drv.listener
        .get_or_init(|| match Listener::bind(&drv.layout.status_dir()) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!(
                    "cannot listen for domain notifications under '{}': {e}; events come \
                     from listing the domains",
                    drv.layout.status_dir().display()
                );
                None
            }
        })
        .as_ref()
}

/// The changes since the last call, in lifecycle order within one batch: domains
/// defined, then state changes as the supervisors sent them, then domains undefined.
pub(crate) fn changes(drv: &QemuDriver) -> Option<Vec<DomainChange>> {
    let listener = listener(drv)?;
    let notes = listener.drain();
    let table = drv.table.take_changes();
    let (added, removed): (Vec<_>, Vec<_>) = table
        .into_iter()
        .partition(|c| c.after.as_ref().is_some_and(|a| a.persistent));
    let mut out = added;
    out.extend(notes.iter().map(|n| n.change()));
    out.extend(removed);
    Some(out)
}

/// Wait for a notification or a file change, at most `timeout`.
pub(crate) fn wait_changes(drv: &QemuDriver, timeout: Duration) {
    let mut fds = Vec::new();
    if let Some(l) = listener(drv) {
        fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
    }
    if let Some(w) = drv.table.wake_fd() {
        fds.push(PollFd::new(w, PollFlags::POLLIN));
    }
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    let _ = nix::poll::poll(
        &mut fds,
        PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
    );
}
