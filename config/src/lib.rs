//! oxvirt-config: the `qemu.toml` schema, its defaults and its loading.
//!
//! Owns: reading and validating configuration files. Must not touch: anything else —
//! callers decide what a setting does.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `security_driver`: one name, a list (first is primary), or unset (probe).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(untagged)]
pub enum SecurityDriverSetting {
    #[default]
    Unset,
    One(String),
    List(Vec<String>),
}

/// Every key of `qemu.toml`. Names and meanings are qemu.conf's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QemuConfig {
    pub user: Option<String>,
    pub group: Option<String>,
    pub dynamic_ownership: bool,
    pub remember_owner: bool,
    pub security_driver: SecurityDriverSetting,
    pub security_default_confined: bool,
    pub security_require_confined: bool,
    pub clear_emulator_capabilities: bool,
    pub cgroup_controllers: Option<Vec<String>>,
    pub cgroup_device_acl: Option<Vec<String>>,
    pub seccomp_sandbox: i32,
    pub namespaces: Vec<String>,
    pub max_processes: u64,
    pub max_files: u64,
    /// oxvirt: where external plugins (`.so`) are loaded from.
    pub plugin_dir: Option<PathBuf>,
    /// oxvirt: where QEMU binaries are looked for.
    pub emulator_dirs: Vec<PathBuf>,
    /// oxvirt: seconds between SIGTERM and SIGKILL on destroy.
    pub destroy_grace_seconds: u64,
    /// oxvirt: how long `shutdown` waits for the guest to power off.
    pub shutdown_timeout_seconds: u64,
}

impl Default for QemuConfig {
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
            seccomp_sandbox: 1,
            namespaces: Vec::new(),
            max_processes: 0,
            max_files: 0,
            plugin_dir: None,
            emulator_dirs: vec![PathBuf::from("/usr/bin")],
            destroy_grace_seconds: 10,
            shutdown_timeout_seconds: 300,
        }
    }
}

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("Cannot read config file '{path}': {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

impl QemuConfig {
    /// Load `path`; a missing file gives the defaults.
    pub fn load_or_default(path: &Path) -> Result<QemuConfig, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(QemuConfig::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parse `text` read from `path` (the path only names the file in errors).
    pub fn parse(path: &Path, text: &str) -> Result<QemuConfig, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().to_string(),
            }
        })
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, column)
}
