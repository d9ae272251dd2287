//! `<devices>`: the [`Devices`] list and one module per device family — `disk`,
//! `controller`, `interface`, `chardev` (serial, console, channel), `input`,
//! `graphics` (graphics, video, sound, audio), `hostdev` (redirdev), `misc`
//! (memballoon, rng) — plus `common` (what families share: `<address>`). A new family
//! is one more module here, re-exported below, and its list in [`Devices`].

mod chardev;
mod common;
mod controller;
mod disk;
mod graphics;
mod hostdev;
mod input;
mod interface;
mod misc;

pub use chardev::*;
pub use common::*;
pub use controller::*;
pub use disk::*;
pub use graphics::*;
pub use hostdev::*;
pub use input::*;
pub use interface::*;
pub use misc::*;

/// `<devices>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Devices {
    pub emulator: Option<String>,
    pub disks: Vec<Disk>,
    pub controllers: Vec<Controller>,
    pub interfaces: Vec<Interface>,
    pub serials: Vec<Chardev>,
    pub consoles: Vec<Chardev>,
    pub channels: Vec<Chardev>,
    pub inputs: Vec<Input>,
    pub graphics: Vec<Graphics>,
    pub videos: Vec<Video>,
    pub memballoon: Option<Memballoon>,
    pub rngs: Vec<Rng>,
    pub sounds: Vec<Sound>,
    pub audios: Vec<Audio>,
    pub redirdevs: Vec<Redirdev>,
}
