//! Supervisors' state notifications, pushed to whoever listens on the root (the daemon's
//! lifecycle events): each is one datagram, sent the moment the state changes, so a
//! change that comes and goes at once is still heard, in order.
//!
//! A listener binds `run/qemu/.events/PID-N.sock` (the directory 0700, the socket 0600:
//! only the managing uid sends); a supervisor (or a process cleaning up after a VM whose
//! supervisor is gone) sends each [`Note`] to every socket there, and removes sockets
//! nobody listens on any more. Sending never blocks a VM for long: a listener whose
//! queue stays full for [`SEND_TIMEOUT`] misses that note (logged).

use oxvirt_core::driver::{DomainChange, DomainState, DomainSummary, StateReason};
use serde::{Deserialize, Serialize};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// How long a note may wait for room in a listener's queue.
pub const SEND_TIMEOUT: Duration = Duration::from_millis(500);

/// A domain's state before and after a change. `before: None`: it was not running;
/// `after` shut off: it stopped, for `after`'s reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub name: String,
    pub uuid: uuid::Uuid,
    pub id: u32,
    pub persistent: bool,
    /// (state number, reason as in status files)
    pub before: Option<(i32, String)>,
    pub after: (i32, String),
}

impl Note {
    pub fn new(
        name: &str,
        uuid: uuid::Uuid,
        id: u32,
        persistent: bool,
        before: Option<(DomainState, StateReason)>,
        after: (DomainState, StateReason),
    ) -> Note {
        let pair = |(s, r): (DomainState, StateReason)| (s as i32, r.as_status_str().to_string());
        Note {
            name: name.to_string(),
            uuid,
            id,
            persistent,
            before: before.map(pair),
            after: pair(after),
        }
    }

    /// The change as summaries (a shut-off transient domain does not exist).
    pub fn change(&self) -> DomainChange {
        let summary = |(state, reason): &(i32, String)| {
            let state = DomainState::from_number(*state);
            let s = DomainSummary {
                name: self.name.clone(),
                uuid: self.uuid,
                id: state.is_active().then_some(self.id),
                state,
                reason: StateReason::from_status_str(reason),
                persistent: self.persistent,
            };
            (s.persistent || s.state.is_active()).then_some(s)
        };
        let off = (DomainState::Shutoff as i32, "unknown".to_string());
        DomainChange {
            before: summary(self.before.as_ref().unwrap_or(&off)),
            after: summary(&self.after),
        }
    }
}

/// The directory listeners bind in, under `run/qemu`.
pub fn listeners_dir(status_dir: &Path) -> PathBuf {
    status_dir.join(".events")
}

/// Send `note` to every listener of the root whose status directory is `status_dir`.
pub fn publish(status_dir: &Path, note: &Note) {
    let Ok(rd) = std::fs::read_dir(listeners_dir(status_dir)) else {
        return;
    };
    let Ok(bytes) = serde_json::to_vec(note) else {
        return;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    let _ = sock.set_write_timeout(Some(SEND_TIMEOUT));
    for ent in rd.flatten() {
        let path = ent.path();
        if path.extension().and_then(|e| e.to_str()) != Some("sock") {
            continue;
        }
        match sock.send_to(&bytes, &path) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
                ) =>
            {
                // Its listener is gone.
                let _ = std::fs::remove_file(&path);
            }
            Err(e) => tracing::warn!(
                "domain '{}': cannot notify '{}': {e}",
                note.name,
                path.display()
            ),
        }
    }
}

/// One process's listening socket; removed when dropped.
pub struct Listener {
    sock: UnixDatagram,
    path: PathBuf,
}

impl Listener {
    pub fn bind(status_dir: &Path) -> std::io::Result<Listener> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = listeners_dir(status_dir);
        std::fs::create_dir_all(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{}-{n}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let sock = UnixDatagram::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        sock.set_nonblocking(true)?;
        Ok(Listener { sock, path })
    }

    /// Every note queued now, in the order they were sent.
    pub fn drain(&self) -> Vec<Note> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = self.sock.recv(&mut buf) {
            match serde_json::from_slice::<Note>(&buf[..n]) {
                Ok(note) => out.push(note),
                Err(e) => tracing::warn!("ignoring a malformed domain notification: {e}"),
            }
        }
        out
    }
}

impl std::os::fd::AsFd for Listener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
