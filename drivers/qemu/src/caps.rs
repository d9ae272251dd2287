//! QEMU capabilities: what one QEMU binary can do, asked of QEMU itself over QMP
//! ([`probe`]), cached per binary under `ROOT/cache/qemu/capabilities/` ([`cache`]),
//! and the model the argv builder and the capabilities XML read ([`model`]).
//! The XML documents (`virsh capabilities`, `virsh domcapabilities`) are in [`xml`].
//!
//! Must not touch: domain XML text (uses the model), running domains.

pub mod cache;
pub mod model;
pub mod probe;
pub mod xml;

pub use model::{CpuModel, MachineType, QemuCaps};

use std::path::{Path, PathBuf};

/// The binary names looked for in every `emulator_dirs` entry, in libvirt's order.
pub const EMULATOR_NAMES: &[&str] = &[
    "qemu",
    "qemu-system-x86_64",
    "qemu-system-i386",
    "qemu-system-microblaze",
    "qemu-system-microblazeel",
    "qemu-system-mips",
    "qemu-system-mipsel",
    "qemu-system-sparc",
    "qemu-system-ppc",
    "qemu-system-aarch64",
    "qemu-kvm",
];

/// Every candidate QEMU binary in `dirs` (existing regular files, symlinks resolved
/// for the existence check only; the path is kept as found).
pub fn candidates(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in dirs {
        for n in EMULATOR_NAMES {
            let p = d.join(n);
            if p.is_file() && !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// Whether `/dev/kvm` exists *and* can be used: opened read-write and answering
/// `KVM_GET_API_VERSION` with 12. Checked on every load, never cached.
pub fn kvm_usable() -> bool {
    kvm_usable_at(Path::new("/dev/kvm"))
}

fn kvm_usable_at(path: &Path) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(f) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    else {
        return false;
    };
    // KVM_GET_API_VERSION = _IO(0xAE, 0x00)
    const KVM_GET_API_VERSION: libc::c_ulong = 0xAE00;
    // SAFETY: the fd is open for the whole call; KVM_GET_API_VERSION takes no argument
    // and only returns an integer. On a non-KVM file the ioctl fails with ENOTTY.
    let v = unsafe { libc::ioctl(f.as_raw_fd(), KVM_GET_API_VERSION as _, 0) };
    v == 12
}

/// Load the capabilities of every QEMU binary in `dirs` (cached or probed, in
/// parallel). A binary that cannot be probed is skipped with a warning in the second
/// list; it never hides the others.
pub fn load_all(cache_dir: &Path, dirs: &[PathBuf]) -> (Vec<QemuCaps>, Vec<String>) {
    let bins = candidates(dirs);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = bins
            .iter()
            .map(|b| s.spawn(move || cache::load(cache_dir, b)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(oxvirt_core::Error::internal("capability probe panicked"))
                })
            })
            .collect()
    });
    let mut caps = Vec::new();
    let mut warnings = Vec::new();
    for (b, r) in bins.iter().zip(results) {
        match r {
            Ok(c) => caps.push(c),
            Err(e) => {
                let w = format!("skipping QEMU binary '{}': {}", b.display(), e.message);
                tracing::warn!("{w}");
                warnings.push(w);
            }
        }
    }
    (caps, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_file_is_not_kvm() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("kvm");
        std::fs::write(&f, b"").unwrap();
        assert!(!kvm_usable_at(&f));
        assert!(!kvm_usable_at(&d.path().join("missing")));
    }
}
