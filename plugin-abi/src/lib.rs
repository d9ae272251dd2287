//! The oxvirt plugin ABI: external security backends and hypervisor drivers as shared
//! objects in `plugin_dir`, loaded at run time with `abi_stable`.
//!
//! The ABI is data-shaped, like libvirt's public API: strings (XML, JSON of core's serde
//! types) in and out, a few `#[repr(C)]` [`StableAbi`](abi_stable::StableAbi) structs, and
//! errors as [`FfiError`] (libvirt's code and domain numbers plus a message).
//!
//! - [`abi`]: the root module [`PluginMod`] every plugin exports and the two function
//!   tables ([`SecurityTable`], [`DriverTable`]); [`ABI_VERSION`].
//! - [`guest`]: the plugin side: wraps a `SecurityBackend` or `Connection` implementation
//!   into a table (panics are caught at the boundary and become errors).
//! - [`host`]: the host side: [`PluginSecurityBackend`](host::PluginSecurityBackend) and
//!   [`PluginConnection`](host::PluginConnection) implement the core traits by calling a
//!   table.
//! - [`loader`]: [`load_plugins`](loader::load_plugins) loads every `*.so` of a
//!   directory with abi_stable's checked loading; every failure is a
//!   [`PluginError`](loader::PluginError) naming the file, and the other plugins still
//!   load. [`plugin_set`](loader::plugin_set) caches one set per directory per process.
//!
//! How to write a plugin and the version policy: `docs/plugins.md`.

pub mod abi;
pub mod guest;
pub mod host;
pub mod loader;
pub mod wire;

pub use abi::{
    DriverTable, FfiError, PluginKind, PluginMod, PluginModRef, SecurityTable, VmData, ABI_VERSION,
};
pub use loader::{load_plugin, load_plugins, plugin_set, LoadedPlugin, PluginError, PluginSet};

/// Re-exported so plugins use the same abi_stable as the host.
pub use abi_stable;
