//! This host's AppArmor: enabled in the kernel, `apparmor_parser` and
//! `oxvirt-aa-helper` installed, and which profiles the kernel has loaded.

use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::path::{Path, PathBuf};

const ENABLED: &str = "/sys/module/apparmor/parameters/enabled";
const PROFILES: &str = "/sys/kernel/security/apparmor/profiles";
const PARSERS: &[&str] = &["/sbin/apparmor_parser", "/usr/sbin/apparmor_parser"];
const HELPER: &str = "oxvirt-aa-helper";
/// Where packages install the helper, after the directory of the running program.
const HELPER_DIRS: &[&str] = &["/usr/libexec/oxvirt", "/usr/lib/oxvirt"];

pub(crate) fn sec_err(msg: String) -> Error {
    Error::new(ErrorCode::SecurityError, ErrorDomain::Security, msg)
}

/// What the backend needs of the host.
#[derive(Debug, Clone)]
pub struct Host {
    /// The `oxvirt-aa-helper` binary.
    pub helper: PathBuf,
}

impl Host {
    /// AppArmor on, the parser and the helper present; the error names what is missing.
    pub fn probe() -> Result<Host> {
        let on = std::fs::read_to_string(ENABLED).is_ok_and(|s| s.trim() == "Y");
        if !on || !Path::new(PROFILES).exists() {
            return Err(sec_err(format!(
                "Security driver 'apparmor' not enabled on this host: AppArmor is not \
                 active in the kernel ({ENABLED} is not Y, or securityfs has no \
                 {PROFILES}); remove \"apparmor\" from security_driver in qemu.toml, or \
                 boot with apparmor=1 security=apparmor"
            )));
        }
        if !PARSERS.iter().any(|p| Path::new(p).exists()) {
            return Err(sec_err(
                "Security driver 'apparmor' needs apparmor_parser (in /sbin or /usr/sbin); \
                 install the apparmor package"
                    .into(),
            ));
        }
        Ok(Host {
            helper: find_helper()?,
        })
    }
}

/// `oxvirt-aa-helper` beside the running program (the build or install directory of
/// `oxvirt` and `oxvirt-supervisor`), else in the package directories.
pub fn find_helper() -> Result<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join(HELPER)));
    beside
        .into_iter()
        .chain(HELPER_DIRS.iter().map(|d| Path::new(d).join(HELPER)))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            sec_err(format!(
                "Security driver 'apparmor' needs {HELPER}, found neither beside this \
                 program nor in {}; install it with oxvirt",
                HELPER_DIRS.join(", ")
            ))
        })
}

/// The mode (`enforce`, `complain`) of `name` if the kernel has it loaded.
pub fn loaded_mode(name: &str) -> Option<String> {
    let list = std::fs::read_to_string(PROFILES).ok()?;
    parse_mode(&list, name)
}

fn parse_mode(list: &str, name: &str) -> Option<String> {
    list.lines().find_map(|l| {
        let (n, mode) = l.rsplit_once(' ')?;
        (n == name).then(|| mode.trim_matches(|c| c == '(' || c == ')').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_list_gives_each_profile_its_mode() {
        let list = "libvirt-1 (enforce)\n/usr/bin/man (complain)\nlibvirt-10 (enforce)\n";
        assert_eq!(parse_mode(list, "libvirt-1").as_deref(), Some("enforce"));
        assert_eq!(
            parse_mode(list, "/usr/bin/man").as_deref(),
            Some("complain")
        );
        assert_eq!(parse_mode(list, "libvirt-2"), None);
    }
}
