//! The `graphics` family: `<graphics>`, `<video>`, `<sound>` and `<audio>`.

use super::common::Address;

/// `<graphics type='vnc|spice'>`; other types are rejected at parse time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Graphics {
    pub graphics_type: String,
    /// `port`: -1 (or absent with autoport) means "pick one".
    pub port: Option<i32>,
    pub autoport: Option<bool>,
    /// `listen` attribute or `<listen type='address' address=..>`.
    pub listen: Option<String>,
    pub keymap: Option<String>,
    pub passwd: Option<String>,
    /// spice `tlsPort` (-1: pick one).
    pub tls_port: Option<i32>,
    /// spice `<image compression=..>`.
    pub image_compression: Option<String>,
}

/// `<video><model type= ram= vram= vgamem= heads= primary=></video>` (sizes in KiB).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Video {
    pub model: String,
    pub ram: Option<u64>,
    pub vram: Option<u64>,
    pub vgamem: Option<u64>,
    pub heads: Option<u32>,
    pub primary: Option<bool>,
    pub address: Option<Address>,
}

/// `<sound model='ich9|ich6|ac97|...'>` with optional `<codec type=..>`s.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sound {
    pub model: String,
    pub codecs: Vec<String>,
    pub address: Option<Address>,
}

/// `<audio id=N type=..>`: a host audio backend (`none`, `spice`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audio {
    pub id: u32,
    pub audio_type: String,
}
