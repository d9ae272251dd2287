//! The `oxvirtd.toml` configuration as a value: [`DaemonConfig`] with libvirtd's
//! defaults. The section modules convert and check its fields; `mod.rs` loads it.

/// Every key of `oxvirtd.toml`. Names, meanings and defaults are libvirtd.conf's unless
/// marked oxvirt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonConfig {
    /// Clients connected at once, over all sockets.
    pub max_clients: u64,
    /// Clients connected at once that have not opened a connection yet (read-only
    /// socket clients before CONNECT_OPEN); 0: no limit.
    pub max_anonymous_clients: u64,
    /// Worker threads started up front.
    pub min_workers: u64,
    /// Worker threads at most (calls running at once).
    pub max_workers: u64,
    /// Extra workers that run only high-priority calls when the others are busy.
    pub prio_workers: u64,
    /// Calls accepted at once over all clients (running or queued); high-priority calls
    /// are not counted.
    pub max_requests: u64,
    /// Calls one client may have in flight.
    pub max_client_requests: u64,
    /// Seconds of silence before the daemon PINGs a keepalive client; -1: never.
    pub keepalive_interval: i64,
    /// Unanswered PINGs before the connection is closed.
    pub keepalive_count: u64,
    /// oxvirt: seconds a client may take to send the rest of a message it started, and
    /// to open its connection after connecting to the read-only socket.
    pub incomplete_frame_timeout: u64,
}

impl Default for DaemonConfig {
    /// libvirtd's defaults (`src/remote/remote_daemon_config.c`, libvirt 9.0).
    fn default() -> Self {
        DaemonConfig {
            max_clients: 5000,
            max_anonymous_clients: 20,
            min_workers: 5,
            max_workers: 20,
            prio_workers: 5,
            max_requests: 20,
            max_client_requests: 5,
            keepalive_interval: 5,
            keepalive_count: 5,
            incomplete_frame_timeout: 10,
        }
    }
}

impl DaemonConfig {
    /// The worker threads started up front: `min_workers`, lowered to `max_workers` (as
    /// libvirt's thread pool does).
    pub fn effective_min_workers(&self) -> u64 {
        self.min_workers.min(self.max_workers)
    }
}
