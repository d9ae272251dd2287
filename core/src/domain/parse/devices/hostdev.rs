//! The `hostdev` family: `<redirdev>` (later `<hostdev>` and `<smartcard>`).

use super::common::address_only;
use crate::domain::model::{Devices, Redirdev};
use crate::domain::parse::util::{check_attrs, req_supported};
use crate::domain::xmltree::Node;
use crate::error::Result;

pub(super) fn add_redirdev(d: &mut Devices, e: &Node, path: &str, _parent: &str) -> Result<()> {
    d.redirdevs.push(parse_redirdev(e, path)?);
    Ok(())
}

fn parse_redirdev(c: &Node, path: &str) -> Result<Redirdev> {
    check_attrs(c, path, &["bus", "type"])?;
    let bus = req_supported(c, path, "bus", &["usb"], &[])?;
    let t = req_supported(c, path, "type", &["spicevmc"], &["tcp", "unix"])?;
    Ok(Redirdev {
        bus: bus.to_owned(),
        redir_type: t.to_owned(),
        address: address_only(c, path)?,
    })
}
