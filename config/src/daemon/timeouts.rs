//! oxvirtd.toml's timeouts: `keepalive_interval`, `keepalive_count` (libvirtd's), and
//! oxvirt's `incomplete_frame_timeout`.

use super::schema::DaemonConfig;
use crate::check::{check_count as count_in, check_range, Check};
use crate::error::ConfigError;
use crate::field::Field;
use crate::file::Section;

pub(super) const SECTION: Section<DaemonConfig> = Section {
    keys: &[
        "keepalive_interval",
        "keepalive_count",
        "incomplete_frame_timeout",
    ],
    set,
    check,
};

fn set(c: &mut DaemonConfig, f: &Field<'_>) -> Result<bool, ConfigError> {
    match f.key {
        "keepalive_interval" => c.keepalive_interval = f.integer()?,
        "keepalive_count" => c.keepalive_count = f.unsigned()?,
        "incomplete_frame_timeout" => c.incomplete_frame_timeout = f.unsigned()?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn check(c: &DaemonConfig, key: &str) -> Check {
    match key {
        "keepalive_interval" if c.keepalive_interval == -1 => Ok(()),
        "keepalive_interval" => check_range(
            c.keepalive_interval,
            1,
            3600,
            "use -1 (never PING) or 1 to 3600 seconds",
        ),
        "keepalive_count" => count_in(c.keepalive_count, 0, 1000, "use 0 to 1000 PINGs"),
        "incomplete_frame_timeout" => {
            count_in(c.incomplete_frame_timeout, 1, 3600, "use 1 to 3600 seconds")
        }
        _ => Ok(()),
    }
}
