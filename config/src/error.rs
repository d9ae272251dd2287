//! The errors of every configuration file: where (file, line) and what (key, problem,
//! fix). Owns the wording; the checks that find the problems live with their sections.

use std::fmt;
use std::path::PathBuf;

/// Where an error was found: the file, and the line when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.path.display(), line),
            None => write!(f, "{}", self.path.display()),
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
    #[error("Cannot find the session config directory: neither XDG_CONFIG_HOME nor HOME is set")]
    NoConfigDir,
    #[error("{location}: {message} (fix the TOML syntax on that line)")]
    Syntax {
        location: Location,
        column: usize,
        message: String,
    },
    /// `known` is the file's list of keys (`KNOWN_KEYS` for qemu.toml, `DAEMON_KEYS`
    /// for oxvirtd.toml).
    #[error("{location}: unknown key '{key}' (known keys: {})", known.join(", "))]
    UnknownKey {
        location: Location,
        key: String,
        known: &'static [&'static str],
    },
    #[error("{location}: key '{key}': expected {expected}, found {found}")]
    WrongType {
        location: Location,
        key: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("{location}: key '{key}': {problem}; {fix}")]
    InvalidValue {
        location: Location,
        key: String,
        problem: String,
        fix: String,
    },
}

impl ConfigError {
    /// The line the error is on, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Syntax { location, .. }
            | ConfigError::UnknownKey { location, .. }
            | ConfigError::WrongType { location, .. }
            | ConfigError::InvalidValue { location, .. } => location.line,
            ConfigError::Read { .. } | ConfigError::NoConfigDir => None,
        }
    }

    /// The key the error is about, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { key, .. }
            | ConfigError::WrongType { key, .. }
            | ConfigError::InvalidValue { key, .. } => Some(key),
            _ => None,
        }
    }
}
