//! The table's inotify watch on `etc/qemu` (definitions) and `run/qemu` (status files and
//! stop reasons): which domain names had a file created, replaced or removed since the
//! last look. Atomic writes show as `IN_MOVED_TO` on the final name; temp files
//! (`.NAME...tmp`) and lock files are ignored.

use crate::paths::RootLayout;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::collections::HashSet;
use std::os::fd::{AsFd, OwnedFd};

pub(super) struct Watch {
    inotify: Inotify,
}

impl Watch {
    pub(super) fn new(layout: &RootLayout) -> nix::Result<Watch> {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        let mask = AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_DELETE
            | AddWatchFlags::IN_CLOSE_WRITE
            | AddWatchFlags::IN_ONLYDIR;
        inotify.add_watch(&layout.definitions_dir(), mask)?;
        inotify.add_watch(&layout.status_dir(), mask)?;
        Ok(Watch { inotify })
    }

    /// Another descriptor for the same inotify instance (to poll on).
    pub(super) fn dup_fd(&self) -> std::io::Result<OwnedFd> {
        self.inotify.as_fd().try_clone_to_owned()
    }

    /// The names whose files changed; `None` when the kernel's queue overflowed (some
    /// changes were lost: reread everything).
    pub(super) fn changed_names(&mut self) -> Option<HashSet<String>> {
        let mut names = HashSet::new();
        loop {
            let events = match self.inotify.read_events() {
                Ok(ev) => ev,
                Err(nix::errno::Errno::EAGAIN) => return Some(names),
                Err(e) => {
                    tracing::warn!("reading the inotify watch failed: {e}");
                    return None;
                }
            };
            for ev in events {
                if ev.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
                    return None;
                }
                let Some(fname) = ev.name.as_ref().and_then(|n| n.to_str()) else {
                    continue;
                };
                if let Some(name) = domain_of(fname) {
                    names.insert(name.to_string());
                }
            }
        }
    }
}

/// The domain a changed file belongs to: `NAME.xml` (definition or status) or
/// `NAME.shutoff`.
fn domain_of(fname: &str) -> Option<&str> {
    domain_file_name(fname).or_else(|| {
        (!fname.starts_with('.'))
            .then(|| fname.strip_suffix(".shutoff"))
            .flatten()
    })
}

/// `NAME` of a domain's definition or status file name `NAME.xml` (not a temp file).
pub(super) fn domain_file_name(fname: &str) -> Option<&str> {
    if fname.starts_with('.') {
        return None;
    }
    fname.strip_suffix(".xml")
}
