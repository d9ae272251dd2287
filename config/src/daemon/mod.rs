//! `oxvirtd.toml`: the daemon's configuration, libvirtd.conf's key names in TOML. This
//! module owns the struct, its defaults and loading; each section module owns its keys:
//! [`clients`] (how many clients), [`workers`] (how many calls at once), [`timeouts`]
//! (keepalive, the incomplete-frame timeout). TLS/TCP keys will be a section of their
//! own here.
//!
//! Where: system `/etc/oxvirt/oxvirtd.toml`, session `$XDG_CONFIG_HOME/oxvirt/oxvirtd.toml`
//! ([`crate::file_path`] with [`crate::DAEMON_FILE`]), or `oxvirtd --config FILE`.

mod clients;
mod timeouts;
mod workers;

use crate::error::ConfigError;
use crate::file::{self, Section};
use std::path::Path;

/// Every key of `oxvirtd.toml`, in documentation order.
pub const DAEMON_KEYS: &[&str] = &[
    "max_clients",
    "max_anonymous_clients",
    "min_workers",
    "max_workers",
    "prio_workers",
    "max_requests",
    "max_client_requests",
    "keepalive_interval",
    "keepalive_count",
    "incomplete_frame_timeout",
];

/// The sections of `oxvirtd.toml`; together they own exactly [`DAEMON_KEYS`].
const SECTIONS: &[Section<DaemonConfig>] = &[clients::SECTION, workers::SECTION, timeouts::SECTION];

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
    /// Load `path` over the defaults; a missing file gives the defaults.
    pub fn load_or_default(path: &Path) -> Result<DaemonConfig, ConfigError> {
        match file::read_text(path)? {
            Some(text) => Self::parse(path, &text),
            None => Ok(DaemonConfig::default()),
        }
    }

    /// Load `path`, which must exist (`oxvirtd --config FILE`).
    pub fn load(path: &Path) -> Result<DaemonConfig, ConfigError> {
        match file::read_text(path)? {
            Some(text) => Self::parse(path, &text),
            None => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            }),
        }
    }

    /// Parse `text` read from `path` over the defaults (the path only names the file in
    /// errors).
    pub fn parse(path: &Path, text: &str) -> Result<DaemonConfig, ConfigError> {
        file::parse_over(DaemonConfig::default(), path, text, SECTIONS, DAEMON_KEYS)
    }

    /// Check every value (for configurations built in code).
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        file::validate(self, path, SECTIONS, DAEMON_KEYS)
    }

    /// The worker threads started up front: `min_workers`, lowered to `max_workers` (as
    /// libvirt's thread pool does).
    pub fn effective_min_workers(&self) -> u64 {
        self.min_workers.min(self.max_workers)
    }
}

/// The keys each section owns, for the test that they add up to [`DAEMON_KEYS`].
#[doc(hidden)]
pub fn section_keys() -> Vec<&'static [&'static str]> {
    SECTIONS.iter().map(|s| s.keys).collect()
}

/// `n` within `min..=max` (a count read as u64).
fn count_in(n: u64, min: u64, max: u64, fix: &str) -> crate::check::Check {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    crate::check::check_range(n, min as i64, max as i64, fix)
}
