//! Built-in driver registration (`inventory`) and URI → driver resolution.
//!
//! A driver crate registers itself with `inventory::submit!` of a [`DriverRegistration`];
//! a front end links the driver crates it wants and calls [`open`]. Drivers that are not
//! linked in (plugins from `plugin_dir`, loaded by `oxvirt-plugin-abi`) are added at run
//! time with [`add_external`]; [`open`] tries them after the built-in ones.

use crate::driver::Connection;
use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::uri::ConnectUri;
use std::sync::{Arc, RwLock};

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

/// Drivers found at run time (plugins), as a set.
pub trait ExternalDrivers: Send + Sync {
    /// Open `uri` with the first driver of the set that accepts it.
    fn open(&self, uri: &ConnectUri) -> Result<Option<Box<dyn Connection>>>;
    /// The drivers' names, for error messages.
    fn names(&self) -> Vec<String>;
    /// One line per plugin that failed to load (naming the file), for error messages.
    fn problems(&self) -> Vec<String>;
}

static EXTERNAL: RwLock<Vec<Arc<dyn ExternalDrivers>>> = RwLock::new(Vec::new());

/// Make `drivers` available to [`open`] for the rest of the process.
pub fn add_external(drivers: Arc<dyn ExternalDrivers>) {
    EXTERNAL
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .push(drivers);
}

/// Open a connection: the first built-in driver that accepts the URI wins, then the
/// external ones in the order they were added.
pub fn open(uri: &str) -> Result<Box<dyn Connection>> {
    let parsed = ConnectUri::parse(uri)?;
    for reg in inventory::iter::<DriverRegistration> {
        if let Some(conn) = (reg.open)(&parsed)? {
            return Ok(conn);
        }
    }
    let external: Vec<Arc<dyn ExternalDrivers>> =
        EXTERNAL.read().unwrap_or_else(|e| e.into_inner()).clone();
    for ext in &external {
        if let Some(conn) = ext.open(&parsed)? {
            return Ok(conn);
        }
    }
    let mut names: Vec<String> = driver_names().into_iter().map(String::from).collect();
    let mut problems = Vec::new();
    for ext in &external {
        names.extend(ext.names());
        problems.extend(ext.problems());
    }
    let mut msg = format!(
        "no connection driver available for URI '{uri}' (drivers available: {})",
        names.join(", ")
    );
    if !problems.is_empty() {
        msg.push_str(&format!(
            "; plugins that failed to load: {}",
            problems.join("; ")
        ));
    }
    Err(Error::new(ErrorCode::NoSupport, ErrorDomain::None, msg))
}
