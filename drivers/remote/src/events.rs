//! Domain lifecycle events for the daemon, fanned out to every client connection.
//!
//! Design: a driver that reports its changes (`Connection::changes`: the QEMU driver's
//! supervisor notifications and its domain table's definitions) is asked for them by
//! [`EventBus::refresh`] — the watcher calls it whenever the driver says something
//! happened (`Connection::wait_changes`, which blocks until then), and the server calls
//! it after every state-changing call it handles, before replying, so a client's own
//! operations come before its reply. Nothing lists the domains: the cost of an event
//! does not grow with their number, and a change that comes and goes at once (a start
//! that fails a moment later) is still reported, in order.
//! A driver that reports nothing is polled instead: `refresh` lists all domains and
//! diffs the result against the previous snapshot (changes within one period are not
//! seen). A redefinition of an existing domain is invisible to both, so the server
//! emits `DEFINED_UPDATED` itself.

use crate::protocol::{lifecycle as lc, RemoteDomain};
use oxvirt_core::driver::{Connection, DomainState, DomainSummary, ListFilter, StateReason};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::broadcast;

/// One lifecycle event, before it is addressed to a client's callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainEvent {
    pub dom: RemoteDomain,
    pub event: i32,
    pub detail: i32,
}

/// The wire identity of a domain.
pub fn remote_domain(s: &DomainSummary) -> RemoteDomain {
    RemoteDomain {
        name: s.name.clone(),
        uuid: *s.uuid.as_bytes(),
        id: s.id.map(|i| i as i32).unwrap_or(-1),
    }
}

type Snapshot = HashMap<uuid::Uuid, DomainSummary>;

/// Sender side shared by the server and the watcher, with the last snapshot.
#[derive(Clone)]
pub struct EventBus {
    pub tx: broadcast::Sender<DomainEvent>,
    last: Arc<Mutex<Option<Snapshot>>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> EventBus {
        let (tx, _) = broadcast::channel(1024);
        EventBus {
            tx,
            last: Arc::new(Mutex::new(None)),
        }
    }
    pub fn emit(&self, ev: DomainEvent) {
        let _ = self.tx.send(ev);
    }
    /// Emit the events since the last call (blocking): the driver's changes, or the
    /// difference between a listing now and the last one.
    pub fn refresh(&self, conn: &dyn Connection) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(changes) = conn.changes() {
            let one = |s: Option<DomainSummary>| s.into_iter().map(|s| (s.uuid, s)).collect();
            for c in changes {
                for ev in diff(&one(c.before), &one(c.after)) {
                    tracing::debug!(?ev, "lifecycle event");
                    self.emit(ev);
                }
            }
            return;
        }
        let Some(now) = snapshot(conn) else {
            return;
        };
        if let Some(prev) = last.as_ref() {
            for ev in diff(prev, &now) {
                tracing::debug!(?ev, "lifecycle event");
                self.emit(ev);
            }
        }
        *last = Some(now);
    }
}

/// Compute the events that lead from `old` to `new` (both keyed by uuid).
pub fn diff(
    old: &HashMap<uuid::Uuid, DomainSummary>,
    new: &HashMap<uuid::Uuid, DomainSummary>,
) -> Vec<DomainEvent> {
    let mut out = Vec::new();
    let ev = |s: &DomainSummary, event, detail| DomainEvent {
        dom: remote_domain(s),
        event,
        detail,
    };
    let stopped_detail = |r: StateReason| match r {
        StateReason::Destroyed => lc::STOPPED_DESTROYED,
        StateReason::Crashed => lc::STOPPED_CRASHED,
        StateReason::Failed => lc::STOPPED_FAILED,
        _ => lc::STOPPED_SHUTDOWN,
    };
    let mut news: Vec<&DomainSummary> = new.values().collect();
    news.sort_by(|a, b| a.name.cmp(&b.name));
    for n in news {
        match old.get(&n.uuid) {
            None => {
                if n.persistent {
                    out.push(ev(n, lc::DEFINED, lc::DEFINED_ADDED));
                }
                if n.state.is_active() {
                    out.push(ev(n, lc::STARTED, lc::STARTED_BOOTED));
                    if paused_by_user(n) {
                        out.push(ev(n, lc::SUSPENDED, lc::SUSPENDED_PAUSED));
                    }
                }
            }
            Some(o) => {
                if !o.persistent && n.persistent {
                    out.push(ev(n, lc::DEFINED, lc::DEFINED_ADDED));
                }
                let restarted = o.state.is_active() && n.state.is_active() && o.id != n.id;
                if o.state.is_active() && (!n.state.is_active() || restarted) {
                    if n.reason == StateReason::Shutdown {
                        out.push(ev(n, lc::SHUTDOWN, lc::SHUTDOWN_FINISHED));
                    }
                    out.push(ev(o, lc::STOPPED, stopped_detail(n.reason)));
                }
                if n.state.is_active() && (!o.state.is_active() || restarted) {
                    out.push(ev(n, lc::STARTED, lc::STARTED_BOOTED));
                    if paused_by_user(n) {
                        out.push(ev(n, lc::SUSPENDED, lc::SUSPENDED_PAUSED));
                    }
                } else if !restarted {
                    if o.state == DomainState::Running && paused_by_user(n) {
                        out.push(ev(n, lc::SUSPENDED, lc::SUSPENDED_PAUSED));
                    }
                    if paused_by_user(o) && n.state == DomainState::Running {
                        out.push(ev(n, lc::RESUMED, lc::RESUMED_UNPAUSED));
                    }
                }
                if o.persistent && !n.persistent {
                    out.push(ev(n, lc::UNDEFINED, lc::UNDEFINED_REMOVED));
                }
            }
        }
    }
    let mut gone: Vec<&DomainSummary> = old
        .values()
        .filter(|o| !new.contains_key(&o.uuid))
        .collect();
    gone.sort_by(|a, b| a.name.cmp(&b.name));
    for o in gone {
        if o.state.is_active() {
            out.push(ev(o, lc::STOPPED, lc::STOPPED_DESTROYED));
        }
        if o.persistent {
            let mut gone = remote_domain(o);
            gone.id = -1;
            out.push(DomainEvent {
                dom: gone,
                event: lc::UNDEFINED,
                detail: lc::UNDEFINED_REMOVED,
            });
        }
    }
    out
}

/// Paused for a reason a client should hear about: not the `-S` pause while QEMU
/// starts up (libvirt announces only "Started Booted" for a start).
fn paused_by_user(s: &DomainSummary) -> bool {
    s.state == DomainState::Paused && s.reason != StateReason::StartingUp
}

fn snapshot(conn: &dyn Connection) -> Option<Snapshot> {
    let all = ListFilter {
        active: true,
        inactive: true,
    };
    match conn.list(all) {
        Ok(v) => Some(v.into_iter().map(|s| (s.uuid, s)).collect()),
        Err(e) => {
            tracing::debug!("event watcher: list failed: {e}");
            None
        }
    }
}

/// Run the watcher until the runtime shuts down: emit, then wait until the driver has
/// something new (at most `period`; a driver that reports nothing is polled every
/// `period`).
pub async fn watch(conn: Arc<dyn Connection>, bus: EventBus, period: Duration) {
    loop {
        let (c, b) = (conn.clone(), bus.clone());
        let _ = tokio::task::spawn_blocking(move || b.refresh(&*c)).await;
        let c = conn.clone();
        let _ = tokio::task::spawn_blocking(move || c.wait_changes(period)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dom(
        state: DomainState,
        reason: StateReason,
        id: Option<u32>,
        persistent: bool,
    ) -> DomainSummary {
        DomainSummary {
            name: "vm".into(),
            uuid: uuid::Uuid::from_u128(7),
            id,
            state,
            reason,
            persistent,
        }
    }

    fn events(a: Option<DomainSummary>, b: Option<DomainSummary>) -> Vec<(i32, i32)> {
        let m = |s: Option<DomainSummary>| s.into_iter().map(|s| (s.uuid, s)).collect();
        diff(&m(a), &m(b))
            .into_iter()
            .map(|e| (e.event, e.detail))
            .collect()
    }

    #[test]
    fn lifecycle_of_a_persistent_domain() {
        use DomainState::*;
        use StateReason as R;
        let off = dom(Shutoff, R::Unknown, None, true);
        let on = dom(Running, R::Booted, Some(3), true);
        let paused = dom(Paused, R::User, Some(3), true);
        let destroyed = dom(Shutoff, R::Destroyed, None, true);
        assert_eq!(events(None, Some(off.clone())), [(lc::DEFINED, 0)]);
        assert_eq!(
            events(Some(off.clone()), Some(on.clone())),
            [(lc::STARTED, 0)]
        );
        assert_eq!(
            events(Some(on.clone()), Some(paused.clone())),
            [(lc::SUSPENDED, 0)]
        );
        assert_eq!(events(Some(paused), Some(on.clone())), [(lc::RESUMED, 0)]);
        assert_eq!(
            events(Some(on), Some(destroyed.clone())),
            [(lc::STOPPED, 1)]
        );
        assert_eq!(events(Some(destroyed), None), [(lc::UNDEFINED, 0)]);
        assert_eq!(events(Some(off.clone()), Some(off.clone())), []);
        // The -S pause while starting is not a suspend.
        let starting = dom(Paused, R::StartingUp, Some(3), true);
        let on = dom(Running, R::Booted, Some(3), true);
        assert_eq!(
            events(Some(off), Some(starting.clone())),
            [(lc::STARTED, 0)]
        );
        assert_eq!(events(Some(starting), Some(on)), []);
    }

    #[test]
    fn transient_domain_and_restart() {
        use DomainState::*;
        use StateReason as R;
        let t = dom(Running, R::Booted, Some(4), false);
        assert_eq!(events(None, Some(t.clone())), [(lc::STARTED, 0)]);
        assert_eq!(events(Some(t), None), [(lc::STOPPED, 1)]);
        let a = dom(Running, R::Booted, Some(4), true);
        let b = dom(Running, R::Booted, Some(5), true);
        assert_eq!(
            events(Some(a), Some(b)),
            [(lc::STOPPED, 0), (lc::STARTED, 0)]
        );
    }
}
