//! QEMU capabilities: what one QEMU binary can do, asked of QEMU itself over QMP
//! ([`probe`]), cached per binary under `ROOT/cache/qemu/capabilities/` ([`cache`]),
//! and the model the argv builder and the capabilities XML read ([`model`]).
//! The XML documents (`virsh capabilities`, `virsh domcapabilities`) are in [`xml`].
//!
//! Must not touch: domain XML text (uses the model), running domains.

pub mod cache;
pub mod kvm;
pub mod model;
pub mod probe;
pub mod xml;

pub use kvm::kvm_usable;
pub use model::{CpuModel, MachineType, QemuCaps};

use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
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

/// The QEMU binary a caller named (`<emulator>`, `domcapabilities --emulatorbin`),
/// allowed only if it is one the driver probes: `requested`, resolved (symlinks, `..`),
/// must be the same file as a [`candidates`] entry — a file with a QEMU name
/// ([`EMULATOR_NAMES`]) in one of `dirs` (qemu.toml's `emulator_dirs`), itself resolved.
/// Returns that candidate's path in `emulator_dirs`, which is what is then run: never
/// the caller's path. Nothing is executed to decide, and anything else is an error
/// naming the path and `emulator_dirs`.
pub fn resolve_emulator(dirs: &[PathBuf], requested: &str) -> Result<PathBuf> {
    let refuse = |why: String| {
        Error::new(
            ErrorCode::InvalidArg,
            ErrorDomain::Qemu,
            format!(
                "invalid argument: QEMU binary '{requested}' {why}; only the QEMU binaries in \
                 emulator_dirs ({}) are run — name one of them, or add its directory to \
                 emulator_dirs in qemu.toml",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    };
    let path = Path::new(requested);
    if !path.is_absolute() {
        return Err(refuse("is not an absolute path".into()));
    }
    let real = std::fs::canonicalize(path).map_err(|e| {
        Error::new(
            ErrorCode::OperationFailed,
            ErrorDomain::Qemu,
            format!("Cannot find QEMU binary {requested}: {e}; install QEMU or fix <emulator>"),
        )
    })?;
    candidates(dirs)
        .into_iter()
        .find(|c| std::fs::canonicalize(c).is_ok_and(|rc| rc == real))
        .ok_or_else(|| {
            let shown = match real.as_path() == path {
                true => String::new(),
                false => format!(" (resolving to '{}')", real.display()),
            };
            refuse(format!("{shown} is not a QEMU the driver probes"))
        })
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
    fn only_qemus_in_emulator_dirs_resolve_and_none_is_run() {
        let d = tempfile::tempdir().unwrap();
        let bin = d.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let marker = d.path().join("ran");
        let script = format!("#!/bin/sh\ntouch {}\n", marker.display());
        let qemu = bin.join("qemu-system-x86_64");
        let evil = bin.join("evil");
        for f in [&qemu, &evil] {
            std::fs::write(f, &script).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let link = d.path().join("qemu-kvm");
        std::os::unix::fs::symlink(&evil, &link).unwrap();
        let via = d.path().join("via");
        std::os::unix::fs::symlink(&qemu, &via).unwrap();
        let dirs = vec![bin.clone()];
        let ok = |p: &Path| resolve_emulator(&dirs, p.to_str().unwrap());
        // A QEMU name in emulator_dirs, directly or through a link: the candidate runs.
        assert_eq!(ok(&qemu).unwrap(), qemu);
        assert_eq!(ok(&via).unwrap(), qemu);
        let dotdot = format!("{}/../bin/qemu-system-x86_64", bin.display());
        assert_eq!(resolve_emulator(&dirs, &dotdot).unwrap(), qemu);
        // Not a QEMU name, a link with a QEMU name to one, outside the dirs, relative.
        for bad in [evil.clone(), link, d.path().join("qemu-system-x86_64")] {
            if bad == d.path().join("qemu-system-x86_64") {
                std::fs::write(&bad, &script).unwrap();
            }
            let e = ok(&bad).unwrap_err();
            assert!(e.message.contains(bad.to_str().unwrap()), "{}", e.message);
            assert!(e.message.contains("emulator_dirs ("), "{}", e.message);
            assert!(e.message.contains(bin.to_str().unwrap()), "{}", e.message);
        }
        let e = resolve_emulator(&dirs, "qemu-system-x86_64").unwrap_err();
        assert!(e.message.contains("not an absolute path"), "{}", e.message);
        let e = resolve_emulator(&dirs, "/no/such/qemu").unwrap_err();
        assert!(e
            .message
            .starts_with("Cannot find QEMU binary /no/such/qemu"));
        assert!(!marker.exists(), "resolving ran a binary");
    }
}
