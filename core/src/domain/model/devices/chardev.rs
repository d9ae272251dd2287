//! The `chardev` family: `<serial>`, `<console>`, `<channel>` (and later `<parallel>`).

use super::common::Address;

/// The host side of a serial port, console or channel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ChardevSource {
    #[default]
    Pty,
    /// `type='file'`: `<source path=.. append=..>`.
    File {
        path: String,
        append: Option<bool>,
    },
    /// `type='unix'`: `<source mode='bind|connect' path=..>`.
    Unix {
        path: String,
        mode: UnixMode,
    },
    Null,
    Stdio,
    /// `type='spicevmc'` (channels).
    Spicevmc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnixMode {
    Bind,
    Connect,
}

/// `<serial>`, `<console>` or `<channel>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chardev {
    pub source: ChardevSource,
    /// `<target type= port=>` for serial/console; `<target type= name=>` for channels.
    pub target_type: Option<String>,
    pub target_port: Option<u32>,
    pub target_name: Option<String>,
    /// `<target><model name=..>` of a serial port (`isa-serial`, ...).
    pub target_model: Option<String>,
    /// `<log file=.. append=..>`.
    pub log_file: Option<String>,
    pub log_append: Option<bool>,
    pub address: Option<Address>,
}
