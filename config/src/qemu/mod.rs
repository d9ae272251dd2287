//! `qemu.toml`: the QEMU driver's configuration, qemu.conf's keys in TOML. This module
//! owns the struct, its defaults and loading; each section module owns its keys'
//! conversion and checks: [`identity`] (who QEMU runs as), [`security`] (confinement),
//! [`cgroup`], [`process`] (QEMU's limits and timeouts), [`graphics`], [`paths`]
//! (plugins, emulators).

mod cgroup;
mod graphics;
mod identity;
mod paths;
mod process;
mod security;

pub use cgroup::{CGROUP_CONTROLLERS, DEFAULT_CGROUP_DEVICE_ACL};
pub use security::{SecurityDriverSetting, BUILTIN_SECURITY_DRIVERS};

use crate::error::ConfigError;
use crate::file::{self, Section};
use crate::instance::{config_path, Instance};
use std::path::{Path, PathBuf};

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

/// Every key of `qemu.toml`. Names and meanings are qemu.conf's unless marked oxvirt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuConfig {
    /// User QEMU runs as (`"name"` or `"+uid"`); `None`: the daemon's own user.
    pub user: Option<String>,
    /// Group QEMU runs as (`"name"` or `"+gid"`); `None`: the daemon's own group.
    pub group: Option<String>,
    pub dynamic_ownership: bool,
    pub remember_owner: bool,
    pub security_driver: SecurityDriverSetting,
    pub security_default_confined: bool,
    pub security_require_confined: bool,
    pub clear_emulator_capabilities: bool,
    /// `None`: use every controller that is mounted.
    pub cgroup_controllers: Option<Vec<String>>,
    /// `None`: [`DEFAULT_CGROUP_DEVICE_ACL`].
    pub cgroup_device_acl: Option<Vec<String>>,
    /// -1: QEMU's default (enabled on every QEMU we support), 0: off, 1: on.
    pub seccomp_sandbox: i32,
    pub namespaces: Vec<String>,
    /// 0: leave the limit alone.
    pub max_processes: u64,
    /// 0: leave the limit alone.
    pub max_files: u64,
    /// Address VNC servers listen on when the domain XML gives none.
    pub vnc_listen: String,
    /// oxvirt: where external plugins (`.so`) are loaded from.
    pub plugin_dir: Option<PathBuf>,
    /// oxvirt: where QEMU binaries are looked for.
    pub emulator_dirs: Vec<PathBuf>,
    /// oxvirt: `destroy` sends SIGTERM, then SIGKILL after this many seconds.
    pub destroy_grace_seconds: u64,
    /// oxvirt: how long `shutdown` waits for the guest to power off.
    pub shutdown_timeout_seconds: u64,
}

impl Default for QemuConfig {
    /// libvirt's defaults for a privileged (system) instance.
    fn default() -> Self {
        QemuConfig {
            user: None,
            group: None,
            dynamic_ownership: true,
            remember_owner: true,
            security_driver: SecurityDriverSetting::Unset,
            security_default_confined: true,
            security_require_confined: false,
            clear_emulator_capabilities: true,
            cgroup_controllers: None,
            cgroup_device_acl: None,
            seccomp_sandbox: -1,
            namespaces: vec!["mount".to_string()],
            max_processes: 0,
            max_files: 0,
            vnc_listen: "127.0.0.1".to_string(),
            plugin_dir: None,
            emulator_dirs: vec![PathBuf::from("/usr/bin")],
            destroy_grace_seconds: 10,
            shutdown_timeout_seconds: 300,
        }
    }
}

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
