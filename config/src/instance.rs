//! Which instance a configuration belongs to, and where its files are:
//! `/etc/oxvirt/FILE` (system), `$XDG_CONFIG_HOME/oxvirt/FILE` (session, falling back
//! to `$HOME/.config/oxvirt/FILE`), `ROOT/etc/FILE` (embed).

use crate::error::ConfigError;
use std::path::PathBuf;

/// Which driver instance a configuration belongs to (libvirt's `qemu:///system`,
/// `qemu:///session`, `qemu:///embed?root=ROOT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instance {
    System,
    Session,
    Embed(PathBuf),
}

/// The QEMU driver's file.
pub const QEMU_FILE: &str = "qemu.toml";
/// The daemon's file.
pub const DAEMON_FILE: &str = "oxvirtd.toml";

/// Where `instance` reads `qemu.toml` from, using this process's environment.
///
/// System: `/etc/oxvirt/qemu.toml`; session: `$XDG_CONFIG_HOME/oxvirt/qemu.toml`
/// (falling back to `$HOME/.config/oxvirt/qemu.toml`); embed: `ROOT/etc/qemu.toml`.
pub fn config_path(instance: &Instance) -> Result<PathBuf, ConfigError> {
    file_path(instance, QEMU_FILE)
}

/// Where `instance` reads the configuration file `file` from (`qemu.toml`,
/// `oxvirtd.toml`), using this process's environment.
pub fn file_path(instance: &Instance, file: &str) -> Result<PathBuf, ConfigError> {
    file_path_with(
        instance,
        file,
        std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

/// [`config_path`] with the environment passed in (for tests and callers that already
/// resolved it). As the XDG spec says, a relative or empty `XDG_CONFIG_HOME` is ignored.
pub fn config_path_with(
    instance: &Instance,
    xdg_config_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Result<PathBuf, ConfigError> {
    file_path_with(instance, QEMU_FILE, xdg_config_home, home)
}

/// [`file_path`] with the environment passed in.
pub fn file_path_with(
    instance: &Instance,
    file: &str,
    xdg_config_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Result<PathBuf, ConfigError> {
    match instance {
        Instance::System => Ok(PathBuf::from("/etc/oxvirt").join(file)),
        Instance::Embed(root) => Ok(root.join("etc").join(file)),
        Instance::Session => {
            let base = match (xdg_config_home.filter(|p| p.is_absolute()), home) {
                (Some(xdg), _) => xdg,
                (None, Some(home)) if !home.as_os_str().is_empty() => home.join(".config"),
                _ => return Err(ConfigError::NoConfigDir),
            };
            Ok(base.join("oxvirt").join(file))
        }
    }
}
