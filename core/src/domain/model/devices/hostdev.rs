//! The `hostdev` family: `<redirdev>` (later `<hostdev>` and `<smartcard>`).

use super::common::Address;

/// `<redirdev bus='usb' type='spicevmc'>`: USB redirection over spice.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Redirdev {
    pub bus: String,
    pub redir_type: String,
    pub address: Option<Address>,
}
