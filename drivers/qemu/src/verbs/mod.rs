//! The QEMU driver's verbs, one module per family of libvirt's API. Each module holds
//! the functions `connection.rs` assembles into the driver's [`oxvirt_core::driver::Connection`];
//! a new family (hotplug, stats, ...) is one more module here and its lines there.

pub mod confinement;
pub mod events;
pub mod host;
pub mod info;
pub mod lifecycle;
pub mod monitor;
pub mod native_formats;
