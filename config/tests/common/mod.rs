//! Shared by the config tests: parse a qemu.toml text named `/r/etc/qemu.toml`.

#![allow(dead_code)]

pub use oxvirt_config::*;
#[allow(unused_imports)]
pub use std::path::{Path, PathBuf};

pub const P: &str = "/r/etc/qemu.toml";

pub fn parse(text: &str) -> Result<QemuConfig, ConfigError> {
    QemuConfig::parse(Path::new(P), text)
}

pub fn ok(text: &str) -> QemuConfig {
    parse(text).unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
}

pub fn err(text: &str) -> String {
    match parse(text) {
        Ok(c) => panic!("{text:?} should fail, parsed as {c:?}"),
        Err(e) => e.to_string(),
    }
}
