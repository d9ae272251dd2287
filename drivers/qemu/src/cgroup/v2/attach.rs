//! Loading a device program and attaching it to a cgroup: the `bpf(2)` system call,
//! `BPF_PROG_LOAD` then `BPF_PROG_ATTACH` (`BPF_CGROUP_DEVICE`, `BPF_F_ALLOW_MULTI`).
//!
//! The program's descriptor is closed after the attach: the attachment holds the program
//! for as long as the cgroup exists, and removing the cgroup frees it. Nothing is pinned.
//!
//! The `libc` crate has `SYS_bpf` but not `union bpf_attr`, so the two members used are
//! defined here with the kernel's layout (the kernel accepts a shorter `bpf_attr` than
//! its own and treats the rest as zero).

use super::program::Insn;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
/// The verifier log asked for when a load fails (the programs are a few dozen
/// instructions; their log is far smaller).
const LOG_SIZE: usize = 64 * 1024;

/// The `BPF_PROG_LOAD` member of `union bpf_attr`, up to `expected_attach_type`.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The `BPF_PROG_ATTACH` member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// Why a program could not be put in place.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("the kernel refused the cgroup device program ({source}){}", verifier(.log))]
    Load { source: std::io::Error, log: String },
    #[error("cannot attach the device program to the cgroup ({0})")]
    Attach(std::io::Error),
}

fn verifier(log: &str) -> String {
    match log.trim() {
        "" => String::new(),
        l => format!("; verifier log:\n{l}"),
    }
}

/// Load `insns` as a `BPF_PROG_TYPE_CGROUP_DEVICE` program and attach it to the cgroup
/// directory `cgroup` (opened read-only), in addition to any program above it.
pub fn load_and_attach(insns: &[Insn], cgroup: BorrowedFd<'_>) -> Result<(), AttachError> {
    let prog = match prog_load(insns, None) {
        Ok(fd) => fd,
        Err(source) => {
            // Load again with a log to say why.
            let mut log = vec![0u8; LOG_SIZE];
            let _ = prog_load(insns, Some(&mut log));
            let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            return Err(AttachError::Load {
                source,
                log: String::from_utf8_lossy(&log[..end]).into_owned(),
            });
        }
    };
    prog_attach(cgroup, prog.as_fd()).map_err(AttachError::Attach)
}

fn prog_load(insns: &[Insn], log: Option<&mut [u8]>) -> std::io::Result<OwnedFd> {
    const LICENSE: &[u8] = b"Apache-2.0\0";
    let mut name = [0u8; 16];
    name[..14].copy_from_slice(b"oxvirt_devices");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        prog_name: name,
        expected_attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    if let Some(buf) = log {
        attr.log_level = 1;
        attr.log_size = buf.len() as u32;
        attr.log_buf = buf.as_mut_ptr() as u64;
    }
    // SAFETY: `attr` is a live, fully initialised `#[repr(C)]` prefix of the kernel's
    // `bpf_attr` for BPF_PROG_LOAD and its size is passed; the pointers in it name live
    // memory for the duration of the call: `insns` (`insn_cnt` 8-byte `bpf_insn`s, same
    // layout), the NUL-terminated licence, and the log buffer of `log_size` bytes that
    // the kernel may write into (borrowed mutably here).
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &mut attr as *mut ProgLoadAttr,
            std::mem::size_of::<ProgLoadAttr>() as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a successful BPF_PROG_LOAD returns a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

fn prog_attach(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> std::io::Result<()> {
    let mut attr = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    // SAFETY: `attr` is a live, fully initialised `#[repr(C)]` `bpf_attr` member for
    // BPF_PROG_ATTACH, its size is passed, and it holds only integers (two descriptors
    // borrowed for the duration of the call).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &mut attr as *mut ProgAttachAttr,
            std::mem::size_of::<ProgAttachAttr>() as libc::c_uint,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_layouts_match_the_kernel() {
        // Offsets in include/uapi/linux/bpf.h.
        use std::mem::{offset_of, size_of};
        assert_eq!(offset_of!(ProgLoadAttr, insns), 8);
        assert_eq!(offset_of!(ProgLoadAttr, log_buf), 32);
        assert_eq!(offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(offset_of!(ProgLoadAttr, expected_attach_type), 68);
        assert_eq!(size_of::<ProgLoadAttr>(), 72);
        assert_eq!(offset_of!(ProgAttachAttr, attach_flags), 12);
        assert_eq!(size_of::<ProgAttachAttr>(), 20);
    }
}
