//! The daemon side of libvirt's RPC: accept clients on unix sockets and serve each one
//! through the procedure table ([`crate::procedures`]) against a hosted
//! [`oxvirt_core::driver::Connection`], within the daemon's limits.
//!
//! Layout: `state` (the shared server and per-client state), `limits` (limits and
//! admission of new clients), `connection` (one client: reader, writer, events,
//! keepalive), `frame` (reading a frame with the incomplete-frame timeout), `dispatch`
//! (one call through the table), `workers` (the worker pool), `fuzz` (the fuzzing entry).
//! Must not touch: the driver's files; it only calls the `Connection` trait.

mod connection;
mod dispatch;
mod frame;
mod fuzz;
mod keepalive;
mod limits;
pub(crate) mod state;
mod workers;

pub use fuzz::fuzz_decode;
pub use limits::Limits;
pub use state::{Instance, Opener, Server, SocketPolicy};

use crate::events::EventBus;
use limits::Admission;
use oxvirt_core::driver::Connection;
use std::sync::{Arc, OnceLock};
use tokio::net::UnixListener;
use tokio::sync::Semaphore;
use workers::WorkerPool;

impl Server {
    /// A server with libvirtd's default limits.
    pub fn new(conn: Arc<dyn Connection>, instance: Instance) -> Arc<Server> {
        Self::with_limits(conn, instance, None, Limits::default())
    }

    /// Like [`Server::new`], also serving URIs of other (non-`qemu`) drivers through
    /// `other`, e.g. `oxvirt_core::registry::open` after loading `plugin_dir`.
    pub fn with_other_drivers(
        conn: Arc<dyn Connection>,
        instance: Instance,
        other: Option<Opener>,
    ) -> Arc<Server> {
        Self::with_limits(conn, instance, other, Limits::default())
    }

    /// A server with `limits` (from oxvirtd.toml: `Limits::from(&DaemonConfig)`). Starts
    /// the worker pool's first threads.
    pub fn with_limits(
        conn: Arc<dyn Connection>,
        instance: Instance,
        other: Option<Opener>,
        limits: Limits,
    ) -> Arc<Server> {
        Arc::new(Server {
            conn,
            instance,
            bus: EventBus::new(),
            hv_version: OnceLock::new(),
            other,
            admission: Admission::default(),
            requests: Arc::new(Semaphore::new(limits.max_requests)),
            workers: WorkerPool::new(limits.min_workers, limits.max_workers, limits.prio_workers),
            limits,
        })
    }

    /// The limits this server enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Clients connected now, over all sockets.
    pub fn clients(&self) -> usize {
        self.admission.clients()
    }

    /// Take the first domain snapshot for events (blocking; call before serving).
    pub fn prime_events(&self) {
        self.bus.refresh(&*self.conn);
    }

    /// Start the lifecycle-event watcher (see [`crate::events`]) on the current runtime.
    pub fn spawn_event_watcher(self: &Arc<Self>, period: std::time::Duration) {
        tokio::spawn(crate::events::watch(
            self.conn.clone(),
            self.bus.clone(),
            period,
        ));
    }

    /// Accept clients on `listener` forever.
    pub async fn serve(self: Arc<Self>, listener: UnixListener, policy: SocketPolicy) {
        let policy = Arc::new(policy);
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(connection::handle(self.clone(), stream, policy.clone()));
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
}
