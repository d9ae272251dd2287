//! oxvirt-config: oxvirt's configuration files, their schema, defaults and loading:
//! `qemu.toml` ([`QemuConfig`], qemu.conf's keys) and `oxvirtd.toml` ([`DaemonConfig`],
//! libvirtd.conf's keys). See `docs/configuration.md`.
//!
//! Owns: reading and validating configuration files. Must not touch: anything else —
//! callers decide what a setting does.
//!
//! Layout: [`instance`] (where the files are), `file` (the three-step loader shared by
//! both files: TOML syntax, each key's type, each value), `field` (typed conversions),
//! `check` (shared value checks), `error` (the errors, which name file, line, key,
//! problem and fix), then one directory per file with its struct (`schema.rs`) and one
//! module per section:
//! `qemu/{identity,security,cgroup,process,graphics,paths}.rs`,
//! `daemon/{clients,workers,timeouts}.rs`.

mod check;
mod daemon;
mod error;
mod field;
mod file;
pub mod instance;
mod qemu;

pub use daemon::{DaemonConfig, DAEMON_KEYS};
pub use error::{ConfigError, Location};
pub use instance::{
    config_path, config_path_with, file_path, file_path_with, Instance, DAEMON_FILE, QEMU_FILE,
};
pub use qemu::{
    QemuConfig, SecurityDriverSetting, BUILTIN_SECURITY_DRIVERS, CGROUP_CONTROLLERS,
    DEFAULT_CGROUP_DEVICE_ACL, KNOWN_KEYS,
};

/// The keys each section owns (for the tests that sections add up to the key lists).
#[doc(hidden)]
pub mod sections {
    pub use crate::daemon::section_keys as daemon;
    pub use crate::qemu::section_keys as qemu;
}
