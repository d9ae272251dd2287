//! libvirt domain XML: the model ([`model`]), the parser ([`parse`]) and the
//! emitter ([`format`](mod@format)), over a small owned XML tree ([`xmltree`]). Parsing validates
//! what a define must reject (names, uuids, elements oxvirt does not implement); it
//! never panics on input.
//!
//! The three layers have the same rooms: one module per part of the document (`os`,
//! `cpu`, `features`, `clock`, `lifecycle`, `seclabel`, `metadata`, `qemu`; the parser
//! and emitter also `identity` and `memory`) and `devices/` with one module per device
//! family (`disk`, `controller`, `interface`, `chardev`, `input`, `graphics`, `hostdev`,
//! `misc`). Every model type is re-exported here (`oxvirt_core::domain::Disk`).

pub mod format;
pub mod model;
pub mod parse;
pub mod xmltree;

pub use format::{format_domain_xml, FormatOptions};
pub use model::*;
pub use parse::parse_domain_xml;
