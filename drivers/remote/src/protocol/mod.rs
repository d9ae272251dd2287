//! The libvirt remote and qemu programs as oxvirt speaks them: procedure numbers
//! ([`procs`]) and the argument/return structs ([`types`]), hand-written from
//! `shared/reference/libvirt-rpc.md` (not generated from libvirt's `.x` files).

pub mod procs;
pub mod types;

pub use types::*;
