//! Host devices given to the guest. Today: `<redirdev>` (USB redirection), which needs
//! SPICE and is refused at start (define and dumpxml keep it).

use oxvirt_core::domain::Domain;
use oxvirt_core::{Error, Result};

/// `<redirdev>` is refused until SPICE is built.
pub(crate) fn check(dom: &Domain) -> Result<()> {
    if let Some(r) = dom.devices.redirdevs.first() {
        return Err(Error::unsupported(format!(
            "<redirdev bus='{}' type='{}'> is not supported by oxvirt at start yet (it needs SPICE); remove it",
            r.bus, r.redir_type
        )));
    }
    Ok(())
}
