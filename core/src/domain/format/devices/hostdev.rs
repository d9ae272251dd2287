//! The `hostdev` family: `<redirdev>` (later `<hostdev>`, `<smartcard>`).

use super::common::with_address;
use crate::domain::format::writer::W;
use crate::domain::model::Devices;

pub(super) fn format_redirdevs(w: &mut W, d: &Devices) {
    for r in &d.redirdevs {
        let attrs = [
            ("bus", Some(r.bus.clone())),
            ("type", Some(r.redir_type.clone())),
        ];
        with_address(w, "redirdev", &attrs, &r.address);
    }
}
