//! What many device families share: the device `<address>`.

/// A device `<address>` kept as its attributes, in order, so nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub attrs: Vec<(String, String)>,
}
