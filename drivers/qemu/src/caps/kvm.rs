//! Whether this host's `/dev/kvm` can run guests: checked on every capabilities load,
//! never cached.

use std::path::Path;

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
