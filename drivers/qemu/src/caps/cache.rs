//! The capability cache: one JSON file per QEMU binary under
//! `ROOT/cache/qemu/capabilities/`, named after the binary's path, holding the key it
//! was probed under and the [`QemuCaps`]. The key is the binary's path, size, mtime and
//! ctime (nanoseconds) and oxvirt's version plus the cache format: a changed binary or a
//! new oxvirt re-probes. Files are written atomically, so every process using the root
//! can share them; two processes probing at once both write a correct file.

use super::model::QemuCaps;
use super::probe;
use crate::status::write_atomic;
use oxvirt_core::{Error, Result};
use serde::{Deserialize, Serialize};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Bumped when the file layout or the meaning of a field changes.
const FORMAT: u32 = 1;

/// What a cached entry is valid for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
    pub oxvirt_version: String,
    pub format: u32,
}

impl CacheKey {
    /// The key for `binary` as it is on disk now.
    pub fn of(binary: &Path) -> Result<CacheKey> {
        let m = std::fs::metadata(binary)
            .map_err(|e| Error::system(format!("cannot stat '{}'", binary.display()), e))?;
        Ok(CacheKey {
            path: binary.to_path_buf(),
            size: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
            oxvirt_version: env!("CARGO_PKG_VERSION").to_string(),
            format: FORMAT,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Entry {
    key: CacheKey,
    caps: QemuCaps,
}

/// The cache file for `binary`: its path with `%` and `/` escaped.
pub fn file_for(cache_dir: &Path, binary: &Path) -> PathBuf {
    let name = binary
        .to_string_lossy()
        .replace('%', "%25")
        .replace('/', "%2F");
    cache_dir.join(format!("{name}.json"))
}

/// The cached capabilities of `binary` if the cache is still valid.
pub fn lookup(cache_dir: &Path, binary: &Path) -> Result<Option<QemuCaps>> {
    let key = CacheKey::of(binary)?;
    let Ok(text) = std::fs::read(file_for(cache_dir, binary)) else {
        return Ok(None);
    };
    match serde_json::from_slice::<Entry>(&text) {
        Ok(e) if e.key == key => Ok(Some(e.caps)),
        _ => Ok(None),
    }
}

/// The capabilities of `binary`: from the cache when valid, else probed and cached.
/// `kvm_usable` is filled in fresh either way.
pub fn load(cache_dir: &Path, binary: &Path) -> Result<QemuCaps> {
    let mut caps = match lookup(cache_dir, binary)? {
        Some(c) => c,
        None => {
            let key = CacheKey::of(binary)?;
            let caps = probe::probe(binary)?;
            let entry = Entry {
                key,
                caps: caps.clone(),
            };
            let text = serde_json::to_vec(&entry)
                .map_err(|e| Error::internal(format!("cannot serialise capabilities: {e}")))?;
            if let Err(e) = std::fs::create_dir_all(cache_dir)
                .map_err(|e| Error::system(format!("cannot create '{}'", cache_dir.display()), e))
                .and_then(|_| write_atomic(&file_for(cache_dir, binary), &text))
            {
                tracing::warn!(
                    "cannot cache capabilities of '{}': {}",
                    binary.display(),
                    e.message
                );
            }
            caps
        }
    };
    caps.kvm_usable = caps.has("kvm") && super::kvm::kvm_usable();
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_do_not_collide() {
        let d = Path::new("/c");
        assert_ne!(
            file_for(d, Path::new("/a-b/c")),
            file_for(d, Path::new("/a/b-c"))
        );
        assert_eq!(
            file_for(d, Path::new("/usr/bin/qemu-system-x86_64")),
            Path::new("/c/%2Fusr%2Fbin%2Fqemu-system-x86_64.json")
        );
    }

    #[test]
    fn key_changes_with_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bin");
        std::fs::write(&f, b"one").unwrap();
        let k1 = CacheKey::of(&f).unwrap();
        std::fs::write(&f, b"three").unwrap();
        let k2 = CacheKey::of(&f).unwrap();
        assert_ne!(k1, k2);
    }

    #[test]
    fn real_qemu_probe_and_cache() {
        let bin = Path::new("/usr/bin/qemu-system-x86_64");
        assert!(
            bin.is_file(),
            "{} is missing: install the qemu-system-x86 package",
            bin.display()
        );
        let d = tempfile::tempdir().unwrap();
        let c = load(d.path(), bin).unwrap();
        assert_eq!(c.arch(), "x86_64");
        assert!(c.version >= 7_000_000);
        assert!(c.has("tcg") && c.has("blockdev"));
        assert_eq!(c.probe_commands, probe::QUERIES.len() + 1);
        let again = load(d.path(), bin).unwrap();
        assert_eq!(
            again.probe_commands, 0,
            "second load must come from the cache"
        );
        assert_eq!(again.machines, c.machines);
    }
}
