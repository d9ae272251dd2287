//! File labels: `getfilecon`/`setfilecon` through the `selinux` crate (the
//! `security.selinux` xattr), the original label remembered in
//! `trusted.libvirt.security.selinux` with a refcount (the DAC crate's `remember`, model
//! `selinux`), and libvirt's error policy: a filesystem without labels (NFS-like, a
//! `context=` mount, read-only) is skipped with a warning naming the file; any other
//! failure is fatal when SELinux enforces, a warning when it is permissive.

use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use oxvirt_security_dac::remember::{self, Recall};
use selinux::SecurityContext;
use std::ffi::CString;
use std::path::Path;

/// The model name, also the suffix of the remembered-label attributes.
pub const MODEL: &str = "selinux";

fn errno_of(e: &selinux::errors::Error) -> Option<i32> {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .and_then(std::io::Error::raw_os_error)
}

/// A filesystem that holds no labels, or cannot be changed (libvirt: not fatal).
fn unsupported(errno: Option<i32>) -> bool {
    matches!(errno, Some(libc::ENOTSUP | libc::ENOSYS | libc::EROFS))
}

fn label_err(path: &Path, label: &str, e: &selinux::errors::Error) -> Error {
    Error::new(
        ErrorCode::SystemError,
        ErrorDomain::Security,
        format!(
            "unable to set security context '{label}' on '{}': {e} ({})",
            path.display(),
            errno_of(e)
                .map(|n| std::io::Error::from_raw_os_error(n).to_string())
                .unwrap_or_default()
        ),
    )
}

/// How one process labels files.
#[derive(Debug, Clone, Copy)]
pub struct Labeller {
    /// qemu.toml `remember_owner`: keep the original label in xattrs.
    pub remember: bool,
    /// SELinux enforces: a failure to label is an error, not a warning.
    pub enforcing: bool,
}

/// The label of `path` (symlinks followed); `None` when it has none or the filesystem
/// keeps none.
pub fn get(path: &Path) -> Result<Option<String>> {
    match SecurityContext::of_path(path, true, true) {
        Ok(c) => Ok(c.map(|c| {
            String::from_utf8_lossy(c.as_bytes())
                .trim_end_matches('\0')
                .to_string()
        })),
        Err(e) if unsupported(errno_of(&e)) => Ok(None),
        Err(e) => Err(Error::new(
            ErrorCode::SystemError,
            ErrorDomain::Security,
            format!(
                "unable to get the security context of '{}': {e}",
                path.display()
            ),
        )),
    }
}

impl Labeller {
    /// `setfilecon`; `Ok(false)` when skipped (the warning names the file).
    fn set(&self, path: &Path, label: &str) -> Result<bool> {
        let c = CString::new(label).map_err(|_| {
            Error::invalid_arg(format!("security context '{label}' contains a NUL byte"))
        })?;
        let result = SecurityContext::from_c_str(&c, true).set_for_path(path, true, true);
        match result {
            Ok(()) => Ok(true),
            Err(e) if unsupported(errno_of(&e)) => {
                tracing::warn!(
                    "cannot label '{}' for SELinux ('{label}'): its filesystem does not \
                     support labels; skipped (QEMU may be denied it unless the policy \
                     allows that filesystem, e.g. the virt_use_nfs boolean)",
                    path.display()
                );
                Ok(false)
            }
            Err(e) if self.enforcing => Err(label_err(path, label, &e)),
            Err(e) => {
                tracing::warn!(
                    "{} (SELinux is permissive: going on)",
                    label_err(path, label, &e)
                );
                Ok(false)
            }
        }
    }

    /// Give `path` the label `label`; with `remember`, its original label is recorded
    /// first (or the refcount bumped). A file another VM uses with a different label is
    /// refused, as libvirt does.
    pub fn set_label(&self, path: &Path, label: &str, remember: bool) -> Result<()> {
        let remember = remember && self.remember;
        if remember {
            if let Some(current) = get(path)? {
                let count = remember::remember(MODEL, path, &current)?;
                if count.is_some_and(|n| n > 1) && current != label {
                    remember::undo(MODEL, path);
                    return Err(Error::new(
                        ErrorCode::OperationInvalid,
                        ErrorDomain::Security,
                        format!(
                            "Setting different SELinux label on {} which is already in use \
                             (it has '{current}', this VM needs '{label}'); mark the disk \
                             <shareable/> or <readonly/>, or give the VMs static labels",
                            path.display()
                        ),
                    ));
                }
            }
        }
        match self.set(path, label) {
            Ok(_) => Ok(()),
            Err(e) => {
                if remember {
                    remember::undo(MODEL, path);
                }
                Err(e)
            }
        }
    }

    /// Undo [`Labeller::set_label`] with `remember` for one user: the last one gives
    /// the original label back. Without remembering, the policy's default label
    /// (`restorecon`'s) is set.
    pub fn restore_label(&self, path: &Path) -> Result<()> {
        if !path.exists() {
            return Ok(());
        }
        if !self.remember {
            if let Err(e) = SecurityContext::set_default_for_path(path) {
                tracing::warn!(
                    "cannot restore the default SELinux label of '{}': {e}",
                    path.display()
                );
            }
            return Ok(());
        }
        match remember::recall(MODEL, path)? {
            Recall::InUse => Ok(()),
            // Never labelled by this backend (a start that failed before it, a
            // filesystem without labels): leave it alone.
            Recall::NotRemembered => Ok(()),
            Recall::Restore(original) => {
                self.set(path, &original)?;
                remember::forget(MODEL, path);
                Ok(())
            }
        }
    }
}
