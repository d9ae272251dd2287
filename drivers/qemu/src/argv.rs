//! Domain model → QEMU command line. The one code path used by `start` and
//! `domxml-to-native`. (Being written; see the helper task.)

use oxvirt_core::domain::Domain;
use oxvirt_core::{Error, Result};
use std::path::{Path, PathBuf};

/// Host-side facts the command line needs that are not in the domain XML.
#[derive(Debug, Clone)]
pub struct ArgvContext<'a> {
    /// The QEMU binary to run (the domain's `<emulator>` or the probed default).
    pub emulator: &'a Path,
    /// The QMP socket QEMU listens on (`server=on,wait=off`).
    pub monitor_socket: &'a Path,
    /// The VM's private directory (`lib/qemu/domain-ID-NAME`), for other sockets.
    pub domain_dir: &'a Path,
}

/// A QEMU process to run: environment, binary and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuCommand {
    pub env: Vec<(String, String)>,
    pub binary: PathBuf,
    pub args: Vec<String>,
}

/// Build the command line for `dom`.
pub fn build(_dom: &Domain, _ctx: &ArgvContext<'_>) -> Result<QemuCommand> {
    Err(Error::unsupported("argv builder not written yet"))
}

impl QemuCommand {
    /// One line: environment, binary, arguments.
    pub fn to_shell_line(&self) -> String {
        let mut words: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        words.push(self.binary.display().to_string());
        words.extend(self.args.iter().cloned());
        words.join(" ")
    }
}
