//! The daemon's limits (oxvirtd.toml, libvirtd.conf's meanings) and the admission of new
//! clients: `max_clients` over all sockets, `max_anonymous_clients` for read-only
//! socket clients that have not opened a connection yet. A refused client's first call
//! is answered with the reason (`VIR_ERR_RESOURCE_BUSY` naming the limit), then it is
//! closed; the refusal is logged (at most one line a second, with a count).

use oxvirt_config::DaemonConfig;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The limits the server enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_clients: usize,
    /// 0: no limit.
    pub max_anonymous_clients: usize,
    pub min_workers: usize,
    pub max_workers: usize,
    pub prio_workers: usize,
    pub max_requests: usize,
    pub max_client_requests: usize,
    /// Server PINGs to keepalive clients: (interval, count); `None`: never.
    pub keepalive: Option<(Duration, u32)>,
    /// How long a client may take to finish a message it started, and to open its
    /// connection when it is anonymous.
    pub frame_timeout: Duration,
}

impl From<&DaemonConfig> for Limits {
    fn from(c: &DaemonConfig) -> Limits {
        let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        Limits {
            max_clients: n(c.max_clients),
            max_anonymous_clients: n(c.max_anonymous_clients),
            min_workers: n(c.effective_min_workers()),
            max_workers: n(c.max_workers).max(1),
            prio_workers: n(c.prio_workers),
            max_requests: n(c.max_requests).max(1),
            max_client_requests: n(c.max_client_requests).max(1),
            keepalive: u64::try_from(c.keepalive_interval)
                .ok()
                .filter(|&s| s > 0)
                .map(|s| {
                    let count = u32::try_from(c.keepalive_count).unwrap_or(u32::MAX);
                    (Duration::from_secs(s), count)
                }),
            frame_timeout: Duration::from_secs(c.incomplete_frame_timeout.max(1)),
        }
    }
}

impl Default for Limits {
    /// libvirtd's defaults ([`DaemonConfig::default`]).
    fn default() -> Limits {
        Limits::from(&DaemonConfig::default())
    }
}

/// A place counted against a limit; given back when dropped.
pub(crate) struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Why a new client was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    MaxClients(usize),
    MaxAnonymous(usize),
}

impl Refusal {
    /// The message the client gets (after libvirt's "resource busy: ").
    pub fn message(self) -> String {
        match self {
            Refusal::MaxClients(n) => format!(
                "resource busy: too many clients: max_clients = {n} (oxvirtd.toml) are connected; try again later"
            ),
            Refusal::MaxAnonymous(n) => format!(
                "resource busy: too many read-only clients that have not opened a connection: max_anonymous_clients = {n} (oxvirtd.toml); try again later"
            ),
        }
    }
}

/// Refused clients answered at once (each waits up to 2 s for its first call); more
/// are closed without an answer.
const MAX_REFUSING: usize = 16;

/// Counts of connected clients, for admission.
#[derive(Default)]
pub(crate) struct Admission {
    clients: Arc<AtomicUsize>,
    anonymous: Arc<AtomicUsize>,
    refusing: Arc<AtomicUsize>,
    /// When the last refusal was logged, and how many were not logged since.
    log: Mutex<Option<(Instant, u64)>>,
}

impl Admission {
    /// Count a new client: its slot, and its anonymous slot (read-only socket).
    pub fn admit(&self, limits: &Limits, anonymous: bool) -> Result<(Slot, Option<Slot>), Refusal> {
        let client = take(&self.clients, limits.max_clients)
            .ok_or(Refusal::MaxClients(limits.max_clients))?;
        if !anonymous {
            return Ok((client, None));
        }
        let max = match limits.max_anonymous_clients {
            0 => usize::MAX,
            n => n,
        };
        let anon = take(&self.anonymous, max)
            .ok_or(Refusal::MaxAnonymous(limits.max_anonymous_clients))?;
        Ok((client, Some(anon)))
    }

    /// A slot to answer a refused client, if not too many are being answered.
    pub fn refusing(&self) -> Option<Slot> {
        take(&self.refusing, MAX_REFUSING)
    }

    /// Clients connected now (admitted, not yet gone).
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::SeqCst)
    }

    /// Log a refusal, at most one line a second (the next line says how many more).
    pub fn log_refusal(&self, why: Refusal, who: &str) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match &mut *log {
            Some((at, quiet)) if now.duration_since(*at) < Duration::from_secs(1) => *quiet += 1,
            _ => {
                let quiet = log.map(|(_, q)| q).unwrap_or(0);
                let more = if quiet > 0 {
                    format!(" ({quiet} more refused since the last line)")
                } else {
                    String::new()
                };
                let limit = match why {
                    Refusal::MaxClients(n) => format!("max_clients = {n}"),
                    Refusal::MaxAnonymous(n) => format!("max_anonymous_clients = {n}"),
                };
                tracing::warn!("refusing a client ({who}): {limit} reached{more}");
                *log = Some((now, 0));
            }
        }
    }
}

/// Take one of `max` places of `counter`.
fn take(counter: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
    if counter.fetch_add(1, Ordering::SeqCst) >= max {
        counter.fetch_sub(1, Ordering::SeqCst);
        return None;
    }
    Some(Slot(counter.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(clients: usize, anon: usize) -> Limits {
        Limits {
            max_clients: clients,
            max_anonymous_clients: anon,
            ..Limits::default()
        }
    }

    #[test]
    fn clients_and_anonymous_clients_are_counted_and_given_back() {
        let a = Admission::default();
        let l = limits(3, 1);
        let first = a.admit(&l, true).unwrap();
        assert!(first.1.is_some());
        assert_eq!(a.admit(&l, true).err(), Some(Refusal::MaxAnonymous(1)));
        // A read-write client does not count as anonymous.
        let rw = a.admit(&l, false).unwrap();
        assert!(rw.1.is_none());
        // The anonymous refusal gave its client place back: 2 of 3 taken.
        assert_eq!(a.clients(), 2);
        let (slot, anon) = first;
        drop(anon); // CONNECT_OPEN
        let second = a.admit(&l, true).unwrap();
        assert_eq!(a.admit(&l, false).err(), Some(Refusal::MaxClients(3)));
        drop((slot, second, rw));
        assert_eq!(a.clients(), 0);
    }

    #[test]
    fn zero_anonymous_means_no_limit() {
        let a = Admission::default();
        let l = limits(100, 0);
        let held: Vec<_> = (0..50).map(|_| a.admit(&l, true).unwrap()).collect();
        assert_eq!(a.clients(), held.len());
    }

    #[test]
    fn limits_follow_the_daemon_config() {
        let l = Limits::default();
        assert_eq!((l.max_clients, l.max_anonymous_clients), (5000, 20));
        assert_eq!((l.min_workers, l.max_workers, l.prio_workers), (5, 20, 5));
        assert_eq!((l.max_requests, l.max_client_requests), (20, 5));
        assert_eq!(l.keepalive, Some((Duration::from_secs(5), 5)));
        assert_eq!(l.frame_timeout, Duration::from_secs(10));
        let off = Limits::from(&DaemonConfig {
            keepalive_interval: -1,
            ..DaemonConfig::default()
        });
        assert_eq!(off.keepalive, None);
    }
}
