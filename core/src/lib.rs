//! oxvirt-core: what every other crate shares.
//!
//! Owns: the domain model and libvirt domain XML ([`domain`]), connection URIs ([`uri`]),
//! the error type ([`error`]), the hypervisor driver interface ([`driver`]) and the
//! built-in driver registry ([`registry`]).
//! Must not touch: processes, files of a driver's root, security backends — those belong
//! to drivers and plugins, which depend on this crate and never the other way round.

pub mod domain;
pub mod driver;
pub mod error;
pub mod registry;
pub mod security;
pub mod uri;

pub use error::{Error, ErrorCode, ErrorDomain, Result};

/// Re-exported so driver crates register with the same `inventory` as the core.
pub use inventory;
