//! qemu.toml's graphics keys: `vnc_listen`.

use super::schema::QemuConfig;
use crate::check::{bad, Check};
use crate::error::ConfigError;
use crate::field::Field;
use crate::file::Section;
use std::net::IpAddr;

pub(super) const SECTION: Section<QemuConfig> = Section {
    keys: &["vnc_listen"],
    set,
    check,
};

fn set(c: &mut QemuConfig, f: &Field<'_>) -> Result<bool, ConfigError> {
    match f.key {
        "vnc_listen" => c.vnc_listen = f.string()?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn check(c: &QemuConfig, key: &str) -> Check {
    match key {
        "vnc_listen" => check_vnc_listen(&c.vnc_listen),
        _ => Ok(()),
    }
}

fn check_vnc_listen(v: &str) -> Check {
    let host_ok = !v.is_empty()
        && v.len() <= 253
        && v.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if v.parse::<IpAddr>().is_ok() || host_ok {
        Ok(())
    } else {
        bad(
            format!("'{v}' is neither an IP address nor a host name"),
            "use an address such as \"127.0.0.1\", \"0.0.0.0\" or \"::1\"",
        )
    }
}
