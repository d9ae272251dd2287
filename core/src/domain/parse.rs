//! Domain XML → [`Domain`]. (Being written; see the helper task.)

use super::model::Domain;
use crate::error::{Error, Result};

/// Parse a `<domain>` document.
pub fn parse_domain_xml(_xml: &str) -> Result<Domain> {
    Err(Error::unsupported("domain XML parser not written yet"))
}
