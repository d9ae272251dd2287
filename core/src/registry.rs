//! Built-in driver registration (`inventory`) and URI → driver resolution.
//!
//! A driver crate registers itself with `inventory::submit!` of a [`DriverRegistration`];
//! a front end links the driver crates it wants and calls [`open`].

use crate::driver::Connection;
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::uri::ConnectUri;

/// What a driver offers the registry.
pub struct DriverRegistration {
    /// Driver name, e.g. `QEMU`.
    pub name: &'static str,
    /// Open `uri` if this driver serves it; `Ok(None)` if the URI is not for it.
    #[allow(clippy::type_complexity)]
    pub open: fn(&ConnectUri) -> Result<Option<Box<dyn Connection>>>,
}

inventory::collect!(DriverRegistration);

/// Names of the built-in drivers linked into this program.
pub fn driver_names() -> Vec<&'static str> {
    inventory::iter::<DriverRegistration>
        .into_iter()
        .map(|r| r.name)
        .collect()
}

/// Open a connection: the first registered driver that accepts the URI wins.
pub fn open(uri: &str) -> Result<Box<dyn Connection>> {
    let parsed = ConnectUri::parse(uri)?;
    for reg in inventory::iter::<DriverRegistration> {
        if let Some(conn) = (reg.open)(&parsed)? {
            return Ok(conn);
        }
    }
    Err(Error::new(
        ErrorCode::NoSupport,
        ErrorDomain::None,
        format!(
            "no connection driver available for URI '{uri}' (drivers in this build: {})",
            driver_names().join(", ")
        ),
    ))
}
