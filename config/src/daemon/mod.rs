//! `oxvirtd.toml`: the daemon's configuration, libvirtd.conf's key names in TOML. This
//! module owns loading; [`schema`] the struct and its defaults; each section module owns
//! its keys:
//! [`clients`] (how many clients), [`workers`] (how many calls at once), [`timeouts`]
//! (keepalive, the incomplete-frame timeout). TLS/TCP keys will be a section of their
//! own here.
//!
//! Where: system `/etc/oxvirt/oxvirtd.toml`, session `$XDG_CONFIG_HOME/oxvirt/oxvirtd.toml`
//! ([`crate::file_path`] with [`crate::DAEMON_FILE`]), or `oxvirtd --config FILE`.

mod clients;
mod schema;
mod timeouts;
mod workers;

pub use schema::DaemonConfig;

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
}

/// The keys each section owns, for the test that they add up to [`DAEMON_KEYS`].
#[doc(hidden)]
pub fn section_keys() -> Vec<&'static [&'static str]> {
    SECTIONS.iter().map(|s| s.keys).collect()
}
