//! oxvirt-driver-remote: libvirt's RPC wire protocol, both ends.
//!
//! Owns: the XDR codec ([`xdr`]), message framing ([`packet`]), the hand-written remote
//! and qemu program structs ([`protocol`]), the procedure table ([`procedures`]: every
//! procedure of libvirt 9.0's remote and qemu programs with its access rule and
//! priority, derived from libvirt's sources), the handlers by family (`handlers`), the
//! daemon side ([`server`], hosting any [`oxvirt_core::driver::Connection`] within the
//! limits of oxvirtd.toml), lifecycle events ([`events`]) and the client driver
//! ([`client`]) registered for `qemu+unix:///...`, `qemu:///system` and
//! `qemu:///session`.
//! Must not touch: a hypervisor's files or processes — the server only calls the
//! `Connection` trait of the driver it hosts.

pub mod client;
pub mod events;
mod handlers;
pub mod packet;
pub mod procedures;
pub mod protocol;
pub mod server;
pub mod xdr;
