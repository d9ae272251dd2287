//! Where the driver keeps its files under a root, as the seed's "Directory tree" lays
//! them out (`etc/qemu`, `run/qemu`, `lib/qemu`, `log/qemu`, `cache/qemu`, ...).

use oxvirt_core::{Error, Result};
use std::path::{Path, PathBuf};

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

    /// Every directory the seed lists, created if missing.
    pub fn create_tree(&self) -> Result<()> {
        for dir in [
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
            let path = self.root.join(dir);
            std::fs::create_dir_all(&path).map_err(|e| {
                Error::system(format!("cannot create directory '{}'", path.display()), e)
            })?;
        }
        Ok(())
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
    fn creates_the_seed_tree() {
        let dir = tempfile::tempdir().unwrap();
        RootLayout::new(dir.path()).create_tree().unwrap();
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
