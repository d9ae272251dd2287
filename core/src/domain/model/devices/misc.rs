//! The `misc` family: `<memballoon>` and `<rng>` (later watchdog, panic, vsock, ...).

use super::common::Address;

/// `<memballoon model=..>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Memballoon {
    /// `virtio` or `none`.
    pub model: String,
    pub address: Option<Address>,
}

/// `<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rng {
    pub model: String,
    pub backend_model: String,
    /// The random backend's device, e.g. `/dev/urandom`.
    pub backend_dev: Option<String>,
    pub address: Option<Address>,
}
