//! `qemu.toml`: the QEMU driver's configuration, qemu.conf's keys in TOML. This module
//! owns loading; [`schema`] the struct and its defaults; each section module owns its
//! keys' conversion and checks: [`identity`] (who QEMU runs as), [`security`] (confinement),
//! [`cgroup`], [`process`] (QEMU's limits and timeouts), [`graphics`], [`paths`]
//! (plugins, emulators).

mod cgroup;
mod graphics;
mod identity;
mod paths;
mod process;
mod schema;
mod security;

pub use cgroup::{CGROUP_CONTROLLERS, DEFAULT_CGROUP_DEVICE_ACL};
pub use schema::{QemuConfig, SecurityDriverSetting};
pub use security::BUILTIN_SECURITY_DRIVERS;

use crate::error::ConfigError;
use crate::file::{self, Section};
use crate::instance::{config_path, Instance};
use std::path::Path;

/// Every key of `qemu.toml`, in file order of the documentation.
pub const KNOWN_KEYS: &[&str] = &[
    "user",
    "group",
    "dynamic_ownership",
    "remember_owner",
    "security_driver",
    "security_default_confined",
    "security_require_confined",
    "clear_emulator_capabilities",
    "cgroup_controllers",
    "cgroup_device_acl",
    "seccomp_sandbox",
    "namespaces",
    "max_processes",
    "max_files",
    "vnc_listen",
    "plugin_dir",
    "emulator_dirs",
    "apparmor_profile_dir",
    "destroy_grace_seconds",
    "shutdown_timeout_seconds",
];

/// The sections of `qemu.toml`; together they own exactly [`KNOWN_KEYS`].
const SECTIONS: &[Section<QemuConfig>] = &[
    identity::SECTION,
    security::SECTION,
    cgroup::SECTION,
    process::SECTION,
    graphics::SECTION,
    paths::SECTION,
];

impl QemuConfig {
    /// The defaults for `instance`. Only `namespaces` differs: an unprivileged session
    /// instance cannot create a mount namespace, so it defaults to none.
    pub fn default_for(instance: &Instance) -> QemuConfig {
        let mut c = QemuConfig::default();
        if *instance == Instance::Session {
            c.namespaces.clear();
        }
        c
    }

    /// Load the configuration of `instance` from [`config_path`]; a missing file gives
    /// the instance's defaults.
    pub fn load(instance: &Instance) -> Result<QemuConfig, ConfigError> {
        let path = config_path(instance)?;
        Self::load_over(QemuConfig::default_for(instance), &path)
    }

    /// Load `path` over the system defaults; a missing file gives the defaults.
    pub fn load_or_default(path: &Path) -> Result<QemuConfig, ConfigError> {
        Self::load_over(QemuConfig::default(), path)
    }

    /// Load `path` over `base`; a missing file gives `base`.
    pub fn load_over(base: QemuConfig, path: &Path) -> Result<QemuConfig, ConfigError> {
        match file::read_text(path)? {
            Some(text) => Self::parse_over(base, path, &text),
            None => Ok(base),
        }
    }

    /// Parse `text` read from `path` over the system defaults (the path only names the
    /// file in errors).
    pub fn parse(path: &Path, text: &str) -> Result<QemuConfig, ConfigError> {
        Self::parse_over(QemuConfig::default(), path, text)
    }

    /// Parse `text` read from `path`: keys present in `text` replace those of `base`.
    pub fn parse_over(
        base: QemuConfig,
        path: &Path,
        text: &str,
    ) -> Result<QemuConfig, ConfigError> {
        file::parse_over(base, path, text, SECTIONS, KNOWN_KEYS)
    }

    /// Check every value (the loader already did; this is for configurations built in
    /// code). Errors name `path` without a line.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        file::validate(self, path, SECTIONS, KNOWN_KEYS)
    }
}

/// The keys each section owns, for the test that they add up to [`KNOWN_KEYS`].
#[doc(hidden)]
pub fn section_keys() -> Vec<&'static [&'static str]> {
    SECTIONS.iter().map(|s| s.keys).collect()
}
