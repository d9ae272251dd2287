//! Which host paths a VM's profile may name, as virt-aa-helper's `valid_path` decides,
//! and how a path is written into a rule.
//!
//! A path is first resolved (the longest existing prefix through `realpath`, so a
//! symlink into `/etc` is judged as `/etc`), then checked: absolute, no `"`, no control
//! characters; never under the restricted system directories (`/etc`, `/proc`, `/sys`,
//! `/usr/lib`, ...) except libvirt's overrides (`/sys/devices/pci`, vhost targets);
//! boot files and firmware (`/boot`, `/usr/share/OVMF`, ...) read-only only; never
//! inside the profile directory itself. AppArmor's pattern characters are escaped, so a
//! file named `a*b` grants `a*b` and nothing else.

use std::path::{Path, PathBuf};

/// Allowed whatever the lists below say (virt-aa-helper's overrides).
const OVERRIDES: &[&str] = &[
    "/sys/devices/pci",
    "/sys/kernel/config/target/vhost",
    "/etc/libvirt-sandbox/services/",
];

/// Allowed read-only (kernels, initrds, firmware).
const READ_ONLY_ALLOWED: &[&str] = &[
    "/boot/",
    "/vmlinuz",
    "/initrd",
    "/initrd.img",
    "/usr/share/edk2/",
    "/usr/share/OVMF/",
    "/usr/share/ovmf/",
    "/usr/share/AAVMF/",
    "/usr/share/qemu-efi/",
    "/usr/share/qemu-efi-aarch64/",
    "/usr/lib/u-boot/",
    "/usr/lib/riscv64-linux-gnu/opensbi",
];

/// Never given to QEMU (and for read-write, neither is [`READ_ONLY_ALLOWED`]).
const RESTRICTED: &[&str] = &[
    "/bin/",
    "/etc/",
    "/lib",
    "/lost+found/",
    "/proc/",
    "/sbin/",
    "/selinux/",
    "/sys/",
    "/usr/bin/",
    "/usr/lib",
    "/usr/sbin/",
    "/usr/share/",
    "/usr/local/bin/",
    "/usr/local/etc/",
    "/usr/local/lib",
    "/usr/local/sbin/",
];

/// Why a path may not be in a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A relative path: virt-aa-helper skips it with a warning.
    Relative,
    /// `"` or a control character: it cannot be written into a rule.
    Unquotable,
    /// Under a restricted directory.
    Restricted { under: String, writable: bool },
    /// Inside the directory holding the profiles.
    ProfileDir(PathBuf),
}

impl Refusal {
    /// What is wrong and what to do, for `what` (e.g. "disk 'vda'") at `path`.
    pub fn message(&self, what: &str, path: &str) -> String {
        match self {
            Refusal::Relative => format!("{what}: '{path}' is not an absolute path"),
            Refusal::Unquotable => format!(
                "{what}: '{path}' contains a double quote or a control character, which \
                 an AppArmor rule cannot name; rename the file"
            ),
            Refusal::Restricted {
                under,
                writable: true,
            } => format!(
                "{what}: '{path}' is under {under}, which QEMU may not write (restricted \
                 path); move the file out of {under} or make the device read-only"
            ),
            Refusal::Restricted {
                under,
                writable: false,
            } => format!(
                "{what}: '{path}' is under {under}, a system directory QEMU may not be \
                 given (restricted path); move the file out of {under}"
            ),
            Refusal::ProfileDir(dir) => format!(
                "{what}: '{path}' is inside the AppArmor profile directory {}; QEMU may \
                 never reach its own profile, move the file elsewhere",
                dir.display()
            ),
        }
    }
}

/// `path` with its longest existing prefix resolved through symlinks.
pub fn resolve(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(&existing) {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Check a resolved path for a rule that `writable` or not.
pub fn check(path: &str, writable: bool, profile_dir: &Path) -> Result<(), Refusal> {
    if !path.starts_with('/') {
        return Err(Refusal::Relative);
    }
    if path.contains('"') || path.chars().any(char::is_control) {
        return Err(Refusal::Unquotable);
    }
    let dir = resolve(profile_dir);
    if Path::new(path).starts_with(&dir) {
        return Err(Refusal::ProfileDir(dir));
    }
    if OVERRIDES.iter().any(|o| path.starts_with(o)) {
        return Ok(());
    }
    let ro_ok = READ_ONLY_ALLOWED.iter().find(|p| path.starts_with(*p));
    if let Some(p) = ro_ok {
        if writable {
            return Err(Refusal::Restricted {
                under: p.trim_end_matches('/').to_string(),
                writable: true,
            });
        }
        return Ok(());
    }
    if let Some(r) = RESTRICTED.iter().find(|r| path.starts_with(*r)) {
        return Err(Refusal::Restricted {
            under: r.trim_end_matches('/').to_string(),
            writable,
        });
    }
    Ok(())
}

/// `path` as the inside of a quoted AppArmor rule: pattern characters (`* ? [ ] { }
/// ^ @ \`) escaped with a backslash.
pub fn escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '^' | '\\' | '@') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PD: &str = "/etc/apparmor.d/libvirt";

    #[test]
    fn restricted_classes() {
        let pd = Path::new(PD);
        assert!(check("/var/lib/img/a.img", true, pd).is_ok());
        assert!(matches!(
            check("/etc/passwd", false, pd),
            Err(Refusal::Restricted { .. })
        ));
        assert!(check("/boot/vmlinuz-6", false, pd).is_ok());
        assert!(matches!(
            check("/boot/x.img", true, pd),
            Err(Refusal::Restricted { writable: true, .. })
        ));
        assert!(check("/proc/self/mem", true, pd).is_err());
        assert!(check("/sys/kernel/x", true, pd).is_err());
        assert!(check("/sys/devices/pci0000:00/x", true, pd).is_ok());
        assert_eq!(check("a.img", true, pd), Err(Refusal::Relative));
        assert_eq!(check("/tmp/a\"b", true, pd), Err(Refusal::Unquotable));
        assert_eq!(check("/tmp/a\nb", true, pd), Err(Refusal::Unquotable));
        let dir = tempfile::tempdir().unwrap();
        let inside = dir.path().join("x.img");
        assert!(matches!(
            check(inside.to_str().unwrap(), true, dir.path()),
            Err(Refusal::ProfileDir(_))
        ));
    }

    #[test]
    fn symlinks_are_judged_by_their_target() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink("/etc", &link).unwrap();
        let r = resolve(&link.join("shadow"));
        assert_eq!(r, Path::new("/etc/shadow"));
        let r = resolve(&dir.path().join("missing/deeper"));
        assert!(r.ends_with("missing/deeper"));
    }

    #[test]
    fn pattern_characters_are_escaped() {
        assert_eq!(
            escape("/tmp/a*b?[c]{d}^@e\\"),
            "/tmp/a\\*b\\?\\[c\\]\\{d\\}\\^\\@e\\\\"
        );
        assert_eq!(escape("/var/lib/x.img"), "/var/lib/x.img");
    }
}
