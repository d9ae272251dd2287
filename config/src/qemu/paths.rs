//! qemu.toml's path keys (oxvirt's): `plugin_dir`, `emulator_dirs`, `apparmor_profile_dir`.

use super::schema::QemuConfig;
use crate::check::{bad, check_abs_dir, check_no_duplicates, Check};
use crate::error::ConfigError;
use crate::field::Field;
use crate::file::Section;
use std::path::PathBuf;

pub(super) const SECTION: Section<QemuConfig> = Section {
    keys: &["plugin_dir", "emulator_dirs", "apparmor_profile_dir"],
    set,
    check,
};

fn set(c: &mut QemuConfig, f: &Field<'_>) -> Result<bool, ConfigError> {
    match f.key {
        "plugin_dir" => c.plugin_dir = Some(PathBuf::from(f.string()?)),
        "emulator_dirs" => {
            c.emulator_dirs = f.string_list()?.into_iter().map(PathBuf::from).collect()
        }
        "apparmor_profile_dir" => c.apparmor_profile_dir = Some(PathBuf::from(f.string()?)),
        _ => return Ok(false),
    }
    Ok(true)
}

fn check(c: &QemuConfig, key: &str) -> Check {
    match key {
        "plugin_dir" => match &c.plugin_dir {
            Some(dir) => check_abs_dir(dir),
            None => Ok(()),
        },
        "apparmor_profile_dir" => match &c.apparmor_profile_dir {
            Some(dir) => check_abs_dir(dir),
            None => Ok(()),
        },
        "emulator_dirs" => {
            if c.emulator_dirs.is_empty() {
                return bad(
                    "the list is empty, so no QEMU binary can be found",
                    "list at least one directory, e.g. [\"/usr/bin\"]",
                );
            }
            c.emulator_dirs.iter().try_for_each(|d| check_abs_dir(d))?;
            check_no_duplicates(c.emulator_dirs.iter().map(|d| d.display().to_string()))
        }
        _ => Ok(()),
    }
}
