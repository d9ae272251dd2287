//! qemu.toml's keys for the QEMU process's limits and timeouts: `max_processes`,
//! `max_files` (rlimits), `destroy_grace_seconds`, `shutdown_timeout_seconds` (oxvirt's).

use super::schema::QemuConfig;
use crate::check::{check_max, Check};
use crate::error::ConfigError;
use crate::field::Field;
use crate::file::Section;

pub(super) const SECTION: Section<QemuConfig> = Section {
    keys: &[
        "max_processes",
        "max_files",
        "destroy_grace_seconds",
        "shutdown_timeout_seconds",
    ],
    set,
    check,
};

fn set(c: &mut QemuConfig, f: &Field<'_>) -> Result<bool, ConfigError> {
    match f.key {
        "max_processes" => c.max_processes = f.unsigned()?,
        "max_files" => c.max_files = f.unsigned()?,
        "destroy_grace_seconds" => c.destroy_grace_seconds = f.unsigned()?,
        "shutdown_timeout_seconds" => c.shutdown_timeout_seconds = f.unsigned()?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn check(c: &QemuConfig, key: &str) -> Check {
    match key {
        "destroy_grace_seconds" => check_max(c.destroy_grace_seconds, 3600),
        "shutdown_timeout_seconds" => check_max(c.shutdown_timeout_seconds, 86400),
        _ => Ok(()),
    }
}
