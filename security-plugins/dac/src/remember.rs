//! Remembered labels: before a file is relabelled for a VM, its original label is stored
//! in `trusted.libvirt.security.MODEL` with a refcount (`ref_MODEL`) and the host boot
//! time (`timestamp_MODEL`) — the same attributes libvirt uses, so both can share a host.
//! MODEL is the backend's: `dac` (an owner, `+uid:+gid`) here, `selinux` (a context) in
//! the SELinux backend, which uses this module too. The xattrs are written *before* the
//! relabel: they are the journal a crashed start is recovered from. The last user to
//! stop restores the label and removes the attributes.

use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::path::Path;

/// The three attribute names of `model`: label, refcount, timestamp.
fn names(model: &str) -> [String; 3] {
    [
        format!("trusted.libvirt.security.{model}"),
        format!("trusted.libvirt.security.ref_{model}"),
        format!("trusted.libvirt.security.timestamp_{model}"),
    ]
}

fn xattr_err(op: &str, name: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorCode::SystemError,
        ErrorDomain::Security,
        format!(
            "Unable to {op} XATTR {name} on '{}': {e} (remember_owner needs trusted.* \
             xattrs: run as root on a filesystem that has them, or set remember_owner = false)",
            path.display()
        ),
    )
}

/// A filesystem that cannot hold the attributes (no xattrs, read-only): nothing is
/// remembered there, as libvirt skips such paths.
fn unsupported(e: &std::io::Error) -> bool {
    let code = e.raw_os_error();
    code == Some(nix::errno::Errno::ENOTSUP as i32)
        || code == Some(nix::errno::Errno::ENOSYS as i32)
        || code == Some(nix::errno::Errno::EROFS as i32)
}

/// The host's boot time (`btime` of `/proc/stat`): a refcount from an earlier boot is stale.
pub fn boot_time() -> String {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime ").map(|v| v.trim().to_string()))
        })
        .unwrap_or_default()
}

fn get(path: &Path, name: &str) -> Result<Option<String>> {
    match xattr::get(path, name) {
        Ok(v) => Ok(v.map(|b| String::from_utf8_lossy(&b).into_owned())),
        Err(e) if unsupported(&e) => Ok(None),
        Err(e) => Err(xattr_err("get", name, path, e)),
    }
}

fn set(path: &Path, name: &str, value: &str) -> Result<()> {
    xattr::set(path, name, value.as_bytes()).map_err(|e| xattr_err("set", name, path, e))
}

fn remove_all(path: &Path, model: &str) {
    for n in names(model) {
        let _ = xattr::remove(path, n);
    }
}

/// Record `original` as `model`'s label of `path` (first user) or bump the refcount.
/// Returns the new refcount; `None` when the filesystem has no xattrs.
pub fn remember(model: &str, path: &Path, original: &str) -> Result<Option<u32>> {
    let [label, refcount, timestamp] = names(model);
    let now = boot_time();
    let current = match xattr::get(path, &refcount) {
        Ok(v) => v.map(|b| String::from_utf8_lossy(&b).into_owned()),
        Err(e) if unsupported(&e) => return Ok(None),
        Err(e) => return Err(xattr_err("get", &refcount, path, e)),
    };
    let mut count: u32 = match current {
        Some(c) => {
            if get(path, &timestamp)?.as_deref() != Some(now.as_str()) {
                // From an earlier boot: nothing of it is in use any more.
                remove_all(path, model);
                0
            } else {
                c.trim().parse().unwrap_or(0)
            }
        }
        None => 0,
    };
    count += 1;
    if count == 1 {
        set(path, &label, original)?;
        set(path, &timestamp, &now)?;
    }
    set(path, &refcount, &count.to_string())?;
    Ok(Some(count))
}

/// What to do with a file when one user stops.
#[derive(Debug, PartialEq, Eq)]
pub enum Recall {
    /// Other users remain: leave the file alone.
    InUse,
    /// The last user: restore this owner, then call [`forget`]. The attributes stay until
    /// then, so a process killed between the two leaves the owner remembered and the
    /// next restore (from the relabel journal) does it again.
    Restore(String),
    /// Nothing was remembered: restore the default.
    NotRemembered,
}

/// Drop one reference to `path`'s remembered `model` label.
pub fn recall(model: &str, path: &Path) -> Result<Recall> {
    let [label, refcount, _] = names(model);
    let Some(count) = get(path, &refcount)? else {
        return Ok(Recall::NotRemembered);
    };
    let count: u32 = count.trim().parse().unwrap_or(1);
    if count > 1 {
        set(path, &refcount, &(count - 1).to_string())?;
        return Ok(Recall::InUse);
    }
    Ok(match get(path, &label)? {
        Some(l) => Recall::Restore(l),
        None => {
            remove_all(path, model);
            Recall::NotRemembered
        }
    })
}

/// Take back one [`remember`] whose relabel did not happen (the file keeps its label).
pub fn undo(model: &str, path: &Path) {
    if let Ok(Recall::Restore(_)) = recall(model, path) {
        forget(model, path);
    }
}

/// The label [`Recall::Restore`] named has been given back: drop what was remembered.
pub fn forget(model: &str, path: &Path) {
    remove_all(path, model);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refcounted_remember_and_recall() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("trusted.* xattrs need root; skipping the remember test body");
            return;
        }
        let dir = tempfile::tempdir_in("/var/tmp").unwrap();
        let f = dir.path().join("disk.img");
        std::fs::write(&f, b"x").unwrap();
        assert_eq!(remember("dac", &f, "+1000:+1000").unwrap(), Some(1));
        assert_eq!(remember("dac", &f, "+107:+107").unwrap(), Some(2));
        assert_eq!(recall("dac", &f).unwrap(), Recall::InUse);
        assert_eq!(
            recall("dac", &f).unwrap(),
            Recall::Restore("+1000:+1000".into())
        );
        // Until the owner is given back and forgotten, a second recall (a restore
        // replayed after a crash) names the same owner again.
        assert_eq!(
            recall("dac", &f).unwrap(),
            Recall::Restore("+1000:+1000".into())
        );
        forget("dac", &f);
        assert_eq!(recall("dac", &f).unwrap(), Recall::NotRemembered);
        assert!(xattr::list(&f)
            .unwrap()
            .all(|n| !n.to_string_lossy().starts_with("trusted.")));
    }

    #[test]
    fn a_refcount_from_an_earlier_boot_is_dropped() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let dir = tempfile::tempdir_in("/var/tmp").unwrap();
        let f = dir.path().join("disk.img");
        std::fs::write(&f, b"x").unwrap();
        let [label, refcount, timestamp] = names("dac");
        set(&f, &refcount, "5").unwrap();
        set(&f, &label, "+9:+9").unwrap();
        set(&f, &timestamp, "1").unwrap();
        assert_eq!(remember("dac", &f, "+1:+1").unwrap(), Some(1));
        assert_eq!(recall("dac", &f).unwrap(), Recall::Restore("+1:+1".into()));
    }
}
