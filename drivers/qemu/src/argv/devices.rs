//! The device families, one module each, with the same names as the domain model,
//! parser and emitter (`oxvirt_core::domain`). Each family builds all of its own
//! options; the order in which they run is the registry in `argv/stages.rs`.

pub mod chardev;
pub mod controller;
pub mod disk;
pub mod graphics;
pub mod hostdev;
pub mod input;
pub mod interface;
pub mod misc;
