//! Where the driver keeps its files under a root, as the seed's "Directory tree" lays
//! them out (`etc/qemu`, `run/qemu`, `lib/qemu`, `log/qemu`, `cache/qemu`, ...).

use oxvirt_core::{Error, Result};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The directories of a root and the most their modes grant (libvirt 9.0's modes or
/// stricter; see docs/security.md "Files"). `run/qemu` and `lib/qemu` (and the
/// directories above them) let others traverse, not list: QEMU's unprivileged user
/// must reach its own `domain-ID-NAME` directories inside them. The rest is the
/// managing uid's alone.
pub const TREE: &[(&str, u32)] = &[
    ("etc", 0o711),
    ("etc/qemu", 0o700),
    ("etc/pki", 0o711),
    ("etc/pki/qemu", 0o700),
    ("run", 0o711),
    ("run/qemu", 0o711),
    ("run/swtpm", 0o711),
    ("lib", 0o711),
    ("lib/qemu", 0o711),
    ("lib/swtpm", 0o711),
    ("log", 0o711),
    ("log/qemu", 0o700),
    ("log/swtpm", 0o700),
    ("cache", 0o711),
    ("cache/qemu", 0o700),
];

/// Written once the files of an older build's root have had their modes fixed.
const MODES_MARKER: &str = "lib/qemu/.modes-checked";

/// Remove from `path`'s mode every bit `max` does not grant (never adds one). A symlink
/// is left alone (its target is not ours to change).
fn tighten(path: &Path, max: u32) -> Result<()> {
    let m = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => return Ok(()),
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::system(
                format!("cannot stat '{}'", path.display()),
                e,
            ))
        }
    };
    let mode = m.permissions().mode() & 0o7777;
    if mode & !max == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & max)).map_err(|e| {
        Error::system(
            format!(
                "cannot restrict the mode of '{}' to {:o} (it is {mode:o}); open the root \
                 as its owner",
                path.display(),
                mode & max
            ),
            e,
        )
    })
}

/// The longest path a unix socket address holds (`sun_path` is 108 bytes with the NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// The directory tree of one driver instance.
#[derive(Debug, Clone)]
pub struct RootLayout {
    pub root: PathBuf,
}

impl RootLayout {
    pub fn new(root: impl Into<PathBuf>) -> RootLayout {
        RootLayout { root: root.into() }
    }

    /// Every directory the seed lists, created if missing with its mode ([`TREE`]);
    /// an existing one (an older build's) loses what its mode grants beyond that. The
    /// files of `etc/qemu`, `run/qemu` and `lib/qemu` lose their group and other bits
    /// once per root (`tighten_files`).
    pub fn create_tree(&self) -> Result<()> {
        for (dir, mode) in TREE {
            let path = self.root.join(dir);
            let existed = path.is_dir();
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(*mode)
                .create(&path)
                .map_err(|e| {
                    Error::system(format!("cannot create directory '{}'", path.display()), e)
                })?;
            if existed {
                tighten(&path, *mode)?;
            } else {
                // Exactly its mode, whatever the umask took away.
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).map_err(
                    |e| Error::system(format!("cannot set the mode of '{}'", path.display()), e),
                )?;
            }
        }
        self.tighten_files()
    }

    /// Take group and other bits from every file in `etc/qemu`, `run/qemu` and
    /// `lib/qemu` (definitions, status, journal, lock, shutoff, control sockets, the
    /// VMs' directories), once: a marker in `lib/qemu` records that it was done, so a
    /// later open costs nothing per domain.
    fn tighten_files(&self) -> Result<()> {
        let marker = self.root.join(MODES_MARKER);
        if marker.exists() {
            return Ok(());
        }
        for dir in ["etc/qemu", "run/qemu", "lib/qemu"] {
            let dir = self.root.join(dir);
            let entries = std::fs::read_dir(&dir)
                .map_err(|e| Error::system(format!("cannot list '{}'", dir.display()), e))?;
            for e in entries.flatten() {
                tighten(&e.path(), 0o700)?;
            }
        }
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&marker)
            .map(|_| ())
            .map_err(|e| Error::system(format!("cannot create '{}'", marker.display()), e))
    }

    /// `cache/qemu/capabilities`: one probed-capabilities file per QEMU binary.
    pub fn capabilities_cache(&self) -> PathBuf {
        self.root.join("cache/qemu/capabilities")
    }
    /// `etc/qemu.toml`: the embedded instance's configuration.
    pub fn config_file(&self) -> PathBuf {
        self.root.join("etc/qemu.toml")
    }
    /// `etc/qemu/NAME.xml`: a persistent definition.
    pub fn definition(&self, name: &str) -> PathBuf {
        self.root.join("etc/qemu").join(format!("{name}.xml"))
    }
    pub fn definitions_dir(&self) -> PathBuf {
        self.root.join("etc/qemu")
    }
    /// `run/qemu/NAME.xml`: the live status of a running domain.
    pub fn status(&self, name: &str) -> PathBuf {
        self.root.join("run/qemu").join(format!("{name}.xml"))
    }
    pub fn status_dir(&self) -> PathBuf {
        self.root.join("run/qemu")
    }
    /// `run/qemu/NAME.shutoff`: why a persistent domain last stopped.
    pub fn shutoff_reason(&self, name: &str) -> PathBuf {
        self.root.join("run/qemu").join(format!("{name}.shutoff"))
    }
    /// `run/qemu/NAME.journal`: what was relabelled for a VM, until it is restored.
    pub fn journal(&self, name: &str) -> PathBuf {
        self.root.join("run/qemu").join(format!("{name}.journal"))
    }
    /// `run/qemu/NAME.lock`: serialises lifecycle operations on one domain.
    pub fn domain_lock(&self, name: &str) -> PathBuf {
        self.root.join("run/qemu").join(format!("{name}.lock"))
    }
    /// `lib/qemu/next-id`: the domain id counter.
    pub fn id_counter(&self) -> PathBuf {
        self.root.join("lib/qemu/next-id")
    }
    /// `run/qemu/domain-ID-NAME`: the running VM's sockets.
    pub fn runtime_dir(&self, id: u32, name: &str) -> PathBuf {
        self.root
            .join("run/qemu")
            .join(format!("domain-{id}-{}", short_name(name)))
    }
    /// `run/qemu/domain-ID-NAME.ctl`: the supervisor's control socket, beside the
    /// runtime directory rather than in it — that directory belongs to QEMU's user, who
    /// must not be able to replace the socket.
    pub fn control_socket(&self, id: u32, name: &str) -> PathBuf {
        self.root
            .join("run/qemu")
            .join(format!("domain-{id}-{}.ctl", short_name(name)))
    }
    /// `lib/qemu/domain-ID-NAME`: the running VM's private files (QEMU's HOME).
    pub fn domain_dir(&self, id: u32, name: &str) -> PathBuf {
        self.root
            .join("lib/qemu")
            .join(format!("domain-{id}-{}", short_name(name)))
    }
    /// `log/qemu/NAME.log`: QEMU's argv, stdout and stderr.
    pub fn log_file(&self, name: &str) -> PathBuf {
        self.root.join("log/qemu").join(format!("{name}.log"))
    }
}

/// libvirt shortens the name in per-domain directory names to 20 characters.
fn short_name(name: &str) -> String {
    name.chars().take(20).collect()
}

/// A socket path must fit `sun_path`; the error says which root to shorten.
pub fn check_socket_path(path: &Path, root: &Path) -> Result<()> {
    let len = path.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(Error::operation_failed(format!(
            "UNIX socket path '{}' is {len} bytes, over the {MAX_SOCKET_PATH}-byte limit of \
             unix sockets; use a root directory shorter than '{}' (for example under /tmp)",
            path.display(),
            root.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_socket_path_is_refused_with_a_hint() {
        let root = PathBuf::from(format!("/tmp/{}", "x".repeat(100)));
        let layout = RootLayout::new(&root);
        let sock = layout.runtime_dir(1, "demo").join("monitor.sock");
        let err = check_socket_path(&sock, &root).unwrap_err();
        assert!(err.message.contains("108") || err.message.contains("107"));
        assert!(err.message.contains("shorter"));
        assert!(check_socket_path(
            Path::new("/tmp/r/run/qemu/domain-1-demo/monitor.sock"),
            &root
        )
        .is_ok());
    }

    #[test]
    fn an_older_roots_modes_are_fixed_once() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for d in ["etc/qemu", "run/qemu", "lib/qemu/domain-1-a", "log/qemu"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        let loose = |p: &str, m: u32| {
            let p = r.join(p);
            if !p.exists() {
                std::fs::write(&p, b"x").unwrap();
            }
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m)).unwrap();
        };
        for d in [
            "etc",
            "etc/qemu",
            "run",
            "run/qemu",
            "lib/qemu/domain-1-a",
            "log/qemu",
        ] {
            loose(d, 0o777);
        }
        for f in [
            "run/qemu/a.lock",
            "run/qemu/a.xml",
            "run/qemu/a.journal",
            "lib/qemu/next-id",
        ] {
            loose(f, 0o644);
        }
        loose("etc/qemu/a.xml", 0o666);
        RootLayout::new(r).create_tree().unwrap();
        let mode = |p: &str| std::fs::metadata(r.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("etc"), 0o711);
        assert_eq!(mode("etc/qemu"), 0o700);
        assert_eq!(mode("run/qemu"), 0o711);
        assert_eq!(mode("log/qemu"), 0o700);
        assert_eq!(mode("lib/qemu/domain-1-a"), 0o700);
        for f in [
            "run/qemu/a.lock",
            "run/qemu/a.xml",
            "run/qemu/a.journal",
            "lib/qemu/next-id",
        ] {
            assert_eq!(mode(f), 0o600, "{f}");
        }
        assert_eq!(mode("etc/qemu/a.xml"), 0o600);
        // Once: a file loosened later is the managing uid's own doing.
        loose("run/qemu/a.lock", 0o640);
        RootLayout::new(r).create_tree().unwrap();
        assert_eq!(mode("run/qemu/a.lock"), 0o640);
        assert_eq!(
            mode("run/qemu"),
            0o711,
            "directories are checked every time"
        );
    }

    #[test]
    fn creates_the_seed_tree() {
        let dir = tempfile::tempdir().unwrap();
        RootLayout::new(dir.path()).create_tree().unwrap();
        for (d, m) in TREE {
            let got = std::fs::metadata(dir.path().join(d))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(got & 0o7777, *m, "{d}");
        }
        for d in [
            "log/qemu",
            "log/swtpm",
            "etc/qemu",
            "etc/pki/qemu",
            "run/qemu",
            "run/swtpm",
            "cache/qemu",
            "lib/qemu",
            "lib/swtpm",
        ] {
            assert!(dir.path().join(d).is_dir(), "{d}");
        }
    }
}
