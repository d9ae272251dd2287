//! What many device families share: `<address>` and `<boot order>`.

use crate::domain::format::writer::W;
use crate::domain::model::Address;

/// The kept `<address>`, attributes in their order.
pub(super) fn format_address(w: &mut W, a: &Option<Address>) {
    if let Some(a) = a {
        let attrs: Vec<(&str, Option<String>)> = a
            .attrs
            .iter()
            .map(|(k, v)| (k.as_str(), Some(v.clone())))
            .collect();
        w.empty("address", &attrs);
    }
}

pub(super) fn format_boot(w: &mut W, order: Option<u32>) {
    if let Some(o) = order {
        w.empty("boot", &[("order", Some(o.to_string()))]);
    }
}

/// `<name attrs/>` without an address, else the element with just its `<address>`.
pub(super) fn with_address(
    w: &mut W,
    name: &str,
    attrs: &[(&str, Option<String>)],
    a: &Option<Address>,
) {
    w.element(name, attrs, a.is_none(), |w| format_address(w, a));
}
