//! [`Domain`] → domain XML. (Being written; see the helper task.)

use super::model::Domain;

/// What to include when formatting.
#[derive(Debug, Clone, Copy, Default)]
pub struct FormatOptions {
    /// Emit `id='N'` on the root (live XML of a running domain).
    pub live: bool,
}

/// Format a domain as libvirt does (indentation of two spaces, single quotes).
pub fn format_domain_xml(_dom: &Domain, _opts: FormatOptions) -> String {
    String::new()
}
