//! qemu.toml's confinement keys: `security_driver`, `security_default_confined`,
//! `security_require_confined`, `clear_emulator_capabilities`, `seccomp_sandbox`,
//! `namespaces`.

use super::schema::{QemuConfig, SecurityDriverSetting};
use crate::check::{bad, check_no_duplicates, check_range, Check};
use crate::error::ConfigError;
use crate::field::Field;
use crate::file::Section;

pub(super) const SECTION: Section<QemuConfig> = Section {
    keys: &[
        "security_driver",
        "security_default_confined",
        "security_require_confined",
        "clear_emulator_capabilities",
        "seccomp_sandbox",
        "namespaces",
    ],
    set,
    check,
};

/// Security driver names oxvirt ships. Plugins may register more, so any well-formed
/// name is accepted; these are only listed in error messages.
pub const BUILTIN_SECURITY_DRIVERS: &[&str] = &["none", "dac", "selinux", "apparmor", "landlock"];

const SECCOMP_FIX: &str = "use -1 (QEMU's default), 0 (off) or 1 (on)";

fn set(c: &mut QemuConfig, f: &Field<'_>) -> Result<bool, ConfigError> {
    match f.key {
        "security_driver" => {
            c.security_driver = match f.string_or_list()? {
                Ok(one) => SecurityDriverSetting::One(one),
                Err(list) => SecurityDriverSetting::List(list),
            }
        }
        "security_default_confined" => c.security_default_confined = f.boolean()?,
        "security_require_confined" => c.security_require_confined = f.boolean()?,
        "clear_emulator_capabilities" => c.clear_emulator_capabilities = f.boolean()?,
        "seccomp_sandbox" => {
            let n = f.integer()?;
            c.seccomp_sandbox = match i32::try_from(n) {
                Ok(n @ -1..=1) => n,
                _ => return Err(f.invalid(format!("{n} is out of range"), SECCOMP_FIX)),
            }
        }
        "namespaces" => c.namespaces = f.string_list()?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn check(c: &QemuConfig, key: &str) -> Check {
    match key {
        "security_driver" => check_security_driver(&c.security_driver),
        "seccomp_sandbox" => check_range(c.seccomp_sandbox.into(), -1, 1, SECCOMP_FIX),
        "namespaces" => check_namespaces(&c.namespaces),
        _ => Ok(()),
    }
}

fn check_security_driver(s: &SecurityDriverSetting) -> Check {
    let names = s.names();
    if let SecurityDriverSetting::List(l) = s {
        if l.is_empty() {
            return bad(
                "the list is empty",
                "name at least one driver, use \"none\" to disable confinement, or remove the key to probe",
            );
        }
    }
    for n in &names {
        let ok = !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return bad(
                format!("'{n}' is not a security driver name"),
                format!(
                    "use one of {} or the name of a security plugin (lowercase letters, digits, '_' and '-')",
                    BUILTIN_SECURITY_DRIVERS.join(", ")
                ),
            );
        }
    }
    if names.len() > 1 && names.contains(&"none") {
        return bad(
            "\"none\" is combined with other drivers",
            "use either \"none\" alone or a list of real drivers",
        );
    }
    check_no_duplicates(names.iter().map(|s| s.to_string()))
}

fn check_namespaces(list: &[String]) -> Check {
    for n in list {
        if n != "mount" {
            return bad(
                format!("'{n}' is not a supported namespace"),
                "only \"mount\" is supported: use [\"mount\"] or []",
            );
        }
    }
    check_no_duplicates(list.iter().cloned())
}
