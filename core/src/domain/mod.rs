//! libvirt domain XML: the model ([`model`]), the parser ([`parse`]) and the
//! formatter ([`format`]), over a small owned XML tree ([`xmltree`]). Parsing validates what a define must reject (names, uuids,
//! elements oxvirt does not implement); it never panics on input.

pub mod format;
pub mod model;
pub mod parse;
pub mod xmltree;

pub use format::{format_domain_xml, FormatOptions};
pub use model::*;
pub use parse::parse_domain_xml;
