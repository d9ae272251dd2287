//! oxvirtd.toml's client limits: `max_clients`, `max_anonymous_clients`.

use super::schema::DaemonConfig;
use crate::check::{check_count as count_in, Check};
use crate::error::ConfigError;
use crate::field::Field;
use crate::file::Section;

pub(super) const SECTION: Section<DaemonConfig> = Section {
    keys: &["max_clients", "max_anonymous_clients"],
    set,
    check,
};

fn set(c: &mut DaemonConfig, f: &Field<'_>) -> Result<bool, ConfigError> {
    match f.key {
        "max_clients" => c.max_clients = f.unsigned()?,
        "max_anonymous_clients" => c.max_anonymous_clients = f.unsigned()?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn check(c: &DaemonConfig, key: &str) -> Check {
    match key {
        "max_clients" => count_in(
            c.max_clients,
            1,
            1_000_000,
            "use 1 to 1000000 clients (libvirtd's default is 5000)",
        ),
        "max_anonymous_clients" => count_in(
            c.max_anonymous_clients,
            0,
            1_000_000,
            "use 0 (no limit) or up to 1000000 clients (libvirtd's default is 20)",
        ),
        _ => Ok(()),
    }
}
