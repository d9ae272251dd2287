//! The `misc` family: `<memballoon>` and `<rng>` (later watchdog, panic, vsock, ...).

use super::common::{address_only, one_child_and_address};
use crate::domain::model::{Devices, Memballoon, Rng};
use crate::domain::parse::util::{
    check_attrs, leaf, req_attr, req_supported, set_once, string_enum_attr, text,
};
use crate::domain::xmltree::Node;
use crate::error::Result;

pub(super) fn add_memballoon(d: &mut Devices, e: &Node, path: &str, parent: &str) -> Result<()> {
    let m = parse_memballoon(e, path)?;
    set_once(&mut d.memballoon, m, parent, e)
}

pub(super) fn add_rng(d: &mut Devices, e: &Node, path: &str, _parent: &str) -> Result<()> {
    d.rngs.push(parse_rng(e, path)?);
    Ok(())
}

fn parse_memballoon(c: &Node, path: &str) -> Result<Memballoon> {
    check_attrs(c, path, &["model"])?;
    let address = address_only(c, path)?;
    req_attr(c, path, "model")?;
    let model = string_enum_attr(
        c,
        path,
        "model",
        &[
            "virtio",
            "xen",
            "none",
            "virtio-transitional",
            "virtio-non-transitional",
        ],
    )?
    .unwrap_or_default();
    Ok(Memballoon { model, address })
}

fn parse_rng(c: &Node, path: &str) -> Result<Rng> {
    check_attrs(c, path, &["model"])?;
    let model = req_supported(
        c,
        path,
        "model",
        &["virtio"],
        &["virtio-transitional", "virtio-non-transitional"],
    )?;
    let backend = |e: &Node, p: &str| parse_backend(model, e, p);
    let (mut rng, address) =
        one_child_and_address(c, path, "backend", "<backend model='random'>", backend)?;
    rng.address = address;
    Ok(rng)
}

/// `<backend model='random'>DEVICE</backend>` of an rng of `model`.
fn parse_backend(model: &str, e: &Node, p: &str) -> Result<Rng> {
    leaf(e, p, &["model"])?;
    let bm = req_supported(e, p, "model", &["random"], &["egd", "builtin"])?;
    let dev = text(e);
    Ok(Rng {
        model: model.to_owned(),
        backend_model: bm.to_owned(),
        backend_dev: (!dev.is_empty()).then_some(dev),
        address: None,
    })
}
