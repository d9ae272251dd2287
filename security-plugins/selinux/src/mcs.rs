//! MCS reservations: which category pair each running (or starting) VM holds, in
//! `STATE_DIR/selinux-mcs` (one `UUID LEVEL NAME` line per VM; `STATE_DIR` is the root's
//! `run/qemu`), changed only under an exclusive `flock` of `selinux-mcs.lock` and
//! rewritten atomically. A file rather than libvirt's in-memory table: labels are made
//! by the process that starts a VM (the CLI, the daemon), which exits, and the pairs
//! must survive it, a daemon restart and a crash. Entries are keyed by the VM's UUID: a
//! new start of a VM replaces the entry a failed start left behind; stop and the
//! relabel journal's recovery remove it; re-adopting a running VM re-asserts it.

use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use uuid::Uuid;

const FILE: &str = "selinux-mcs";
const LOCK: &str = "selinux-mcs.lock";

/// One VM's reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub uuid: Uuid,
    /// `s0:cA,cB`.
    pub level: String,
    pub name: String,
}

fn sys_err(what: String, e: std::io::Error) -> Error {
    Error::new(
        ErrorCode::SystemError,
        ErrorDomain::Security,
        format!("{what}: {e}"),
    )
}

/// The reservations of one driver root.
#[derive(Debug, Clone)]
pub struct Reservations {
    dir: PathBuf,
}

impl Reservations {
    pub fn new(dir: &Path) -> Reservations {
        Reservations {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    fn read(&self) -> Result<Vec<Entry>> {
        let path = self.path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(sys_err(format!("cannot read '{}'", path.display()), e)),
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut f = l.splitn(3, ' ');
                let (uuid, level, name) = (f.next(), f.next(), f.next());
                match (uuid.and_then(|u| u.parse().ok()), level) {
                    (Some(uuid), Some(level)) => Ok(Entry {
                        uuid,
                        level: level.into(),
                        name: name.unwrap_or("").into(),
                    }),
                    _ => Err(Error::new(
                        ErrorCode::InternalError,
                        ErrorDomain::Security,
                        format!(
                            "'{}' is damaged (line '{l}'): stop every VM of this root and remove it",
                            path.display()
                        ),
                    )),
                }
            })
            .collect()
    }

    fn write(&self, entries: &[Entry]) -> Result<()> {
        let path = self.path();
        let tmp = self.dir.join(format!(".{FILE}.tmp"));
        let mut text = String::new();
        for e in entries {
            text.push_str(&format!("{} {} {}\n", e.uuid, e.level, e.name));
        }
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| sys_err(format!("cannot write '{}'", path.display()), e))
    }

    /// Run `f` on the entries under the lock; write them back when `f` changed them.
    fn locked<T>(&self, f: impl FnOnce(&mut Vec<Entry>) -> Result<T>) -> Result<T> {
        let lock_path = self.dir.join(LOCK);
        let lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&lock_path)
            .map_err(|e| sys_err(format!("cannot open '{}'", lock_path.display()), e))?;
        // SAFETY: flock on a descriptor we own; released when `lock` is dropped.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(sys_err(
                format!("cannot lock '{}'", lock_path.display()),
                std::io::Error::last_os_error(),
            ));
        }
        let mut entries = self.read()?;
        let before = entries.clone();
        let out = f(&mut entries)?;
        if entries != before {
            self.write(&entries)?;
        }
        Ok(out)
    }

    /// Reserve a new level for `uuid` with `pick(taken)`, which must return a level for
    /// which `taken` is false. Whatever `uuid` held before (a start that failed before
    /// its journal) is given up first.
    pub fn allocate(
        &self,
        uuid: Uuid,
        name: &str,
        pick: impl FnOnce(&dyn Fn(&str) -> bool) -> Result<String>,
    ) -> Result<String> {
        self.locked(|entries| {
            entries.retain(|e| e.uuid != uuid);
            let held: Vec<String> = entries.iter().map(|e| e.level.clone()).collect();
            let level = pick(&|l: &str| held.iter().any(|h| h == l))?;
            entries.push(Entry {
                uuid,
                level: level.clone(),
                name: name.into(),
            });
            Ok(level)
        })
    }

    /// Hold `level` for `uuid` (a static label, or a running VM being re-adopted);
    /// refused when another VM holds it.
    pub fn reserve(&self, uuid: Uuid, name: &str, level: &str) -> Result<()> {
        self.locked(|entries| {
            if let Some(other) = entries.iter().find(|e| e.level == level && e.uuid != uuid) {
                return Err(Error::new(
                    ErrorCode::OperationInvalid,
                    ErrorDomain::Security,
                    format!(
                        "MCS level for existing domain label {level} already reserved by \
                         domain '{}' ({}): give '{name}' another label",
                        other.name, other.uuid
                    ),
                ));
            }
            entries.retain(|e| e.uuid != uuid);
            entries.push(Entry {
                uuid,
                level: level.into(),
                name: name.into(),
            });
            Ok(())
        })
    }

    /// Give up what `uuid` holds (stop, recovery). Nothing held: nothing to do.
    pub fn release(&self, uuid: Uuid) -> Result<()> {
        self.locked(|entries| {
            entries.retain(|e| e.uuid != uuid);
            Ok(())
        })
    }

    /// Every reservation.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        self.locked(|entries| Ok(entries.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::CategoryRange;
    use std::os::unix::fs::PermissionsExt;

    fn random(n: u32) -> u32 {
        let mut b = [0u8; 4];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut b)
            .unwrap();
        u32::from_le_bytes(b) % n
    }

    #[test]
    fn pairs_are_unique_across_processes_and_survive_them() {
        let d = tempfile::tempdir().unwrap();
        // A tiny range (8 categories = 28 pairs) so collisions would show.
        let range = CategoryRange::of(Some("s0:c0.c7")).unwrap();
        let mut levels = Vec::new();
        for i in 0..28u32 {
            // A new value each time: nothing is kept in memory.
            let r = Reservations::new(d.path());
            let uuid = Uuid::from_u128(i as u128 + 1);
            levels.push(
                r.allocate(uuid, &format!("vm{i}"), |taken| range.pick(random, taken))
                    .unwrap(),
            );
        }
        let mut unique = levels.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 28, "{levels:?}");
        let r = Reservations::new(d.path());
        let e = r
            .allocate(Uuid::from_u128(99), "full", |taken| {
                range.pick(random, taken)
            })
            .unwrap_err();
        assert!(e.message.contains("no free MCS category pair"), "{e}");
        // Releasing one frees exactly its pair.
        r.release(Uuid::from_u128(5)).unwrap();
        let again = r
            .allocate(Uuid::from_u128(99), "late", |taken| {
                range.pick(random, taken)
            })
            .unwrap();
        assert_eq!(again, levels[4]);
        let mode = std::fs::metadata(d.path().join(FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_vm_holds_one_level_and_another_vms_level_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let r = Reservations::new(d.path());
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        r.reserve(a, "a", "s0:c1,c2").unwrap();
        // A re-adopted VM re-asserts its own level: fine, once.
        r.reserve(a, "a", "s0:c1,c2").unwrap();
        let e = r.reserve(b, "b", "s0:c1,c2").unwrap_err();
        assert!(e.message.contains("already reserved by domain 'a'"), "{e}");
        // A new start of `a` replaces what it held.
        let level = r.allocate(a, "a", |_| Ok("s0:c3,c4".into())).unwrap();
        assert_eq!(level, "s0:c3,c4");
        assert_eq!(r.entries().unwrap().len(), 1);
        r.release(a).unwrap();
        r.release(a).unwrap();
        assert!(r.entries().unwrap().is_empty());
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(FILE), "garbage\n").unwrap();
        let e = Reservations::new(d.path()).entries().unwrap_err();
        assert!(e.message.contains("selinux-mcs") && e.message.contains("damaged"));
    }
}
