//! qemu.toml's process identity keys: `user`, `group` (who QEMU runs as),
//! `dynamic_ownership`, `remember_owner` (relabelling the guest's files).

use super::schema::QemuConfig;
use crate::check::{bad, Check};
use crate::error::ConfigError;
use crate::field::Field;
use crate::file::Section;

pub(super) const SECTION: Section<QemuConfig> = Section {
    keys: &["user", "group", "dynamic_ownership", "remember_owner"],
    set,
    check,
};

fn set(c: &mut QemuConfig, f: &Field<'_>) -> Result<bool, ConfigError> {
    match f.key {
        "user" => c.user = Some(f.string()?),
        "group" => c.group = Some(f.string()?),
        "dynamic_ownership" => c.dynamic_ownership = f.boolean()?,
        "remember_owner" => c.remember_owner = f.boolean()?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn check(c: &QemuConfig, key: &str) -> Check {
    match key {
        "user" => check_id(c.user.as_deref(), "user"),
        "group" => check_id(c.group.as_deref(), "group"),
        _ => Ok(()),
    }
}

fn check_id(value: Option<&str>, what: &str) -> Check {
    let Some(v) = value else { return Ok(()) };
    if v.is_empty() {
        return bad(
            "the name is empty",
            format!("give a {what} name, or \"+N\" for the numeric id N, or remove the key"),
        );
    }
    if let Some(digits) = v.strip_prefix('+') {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return bad(
                format!("'{v}' starts with '+' but is not followed by digits only"),
                format!("write \"+N\" with N the numeric {what} id, e.g. \"+107\""),
            );
        }
        if digits.parse::<u32>().is_err() {
            return bad(
                format!("'{v}' is not a valid numeric id"),
                "use an id below 4294967296",
            );
        }
        return Ok(());
    }
    if v.chars()
        .any(|c| c.is_whitespace() || c == ':' || c == '/' || c.is_control())
    {
        return bad(
            format!("'{v}' is not a valid {what} name"),
            format!(
                "give the {what} name as in /etc/{}, without spaces, ':' or '/'",
                if what == "user" { "passwd" } else { "group" }
            ),
        );
    }
    Ok(())
}
