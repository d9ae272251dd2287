//! oxvirtd.toml's call limits: `min_workers`, `max_workers`, `prio_workers` (the worker
//! pool), `max_requests` (calls accepted at once), `max_client_requests` (per client).

use super::schema::DaemonConfig;
use crate::check::{check_count as count_in, Check};
use crate::error::ConfigError;
use crate::field::Field;
use crate::file::Section;

pub(super) const SECTION: Section<DaemonConfig> = Section {
    keys: &[
        "min_workers",
        "max_workers",
        "prio_workers",
        "max_requests",
        "max_client_requests",
    ],
    set,
    check,
};

fn set(c: &mut DaemonConfig, f: &Field<'_>) -> Result<bool, ConfigError> {
    match f.key {
        "min_workers" => c.min_workers = f.unsigned()?,
        "max_workers" => c.max_workers = f.unsigned()?,
        "prio_workers" => c.prio_workers = f.unsigned()?,
        "max_requests" => c.max_requests = f.unsigned()?,
        "max_client_requests" => c.max_client_requests = f.unsigned()?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn check(c: &DaemonConfig, key: &str) -> Check {
    match key {
        "min_workers" => count_in(c.min_workers, 0, 10_000, "use 0 to 10000 threads"),
        "max_workers" => count_in(
            c.max_workers,
            1,
            10_000,
            "use 1 to 10000 threads (libvirtd's default is 20)",
        ),
        "prio_workers" => count_in(
            c.prio_workers,
            0,
            10_000,
            "use 0 (no priority pool) to 10000 threads",
        ),
        "max_requests" => count_in(c.max_requests, 1, 1_000_000, "use 1 to 1000000 calls"),
        "max_client_requests" => count_in(
            c.max_client_requests,
            1,
            10_000,
            "use 1 to 10000 calls (libvirtd's default is 5)",
        ),
        _ => Ok(()),
    }
}
