//! The small devices: `<memballoon>` (virtio, the default when absent, or none) and
//! `<rng model='virtio'>` with a `random` (default `/dev/urandom`) or `builtin`
//! backend (`-object rng-*` + `virtio-rng-pci`).

use crate::argv::plan::Plan;
use crate::argv::props::{Args, Props};
use oxvirt_core::{Error, Result};

/// The balloon (libvirt's `qemuBuildMemballoonCommandLine`).
pub(crate) fn memballoon(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    match p.dom.devices.memballoon.as_ref().map(|m| m.model.as_str()) {
        None | Some("virtio") => a.json(
            "-device",
            &Props::new()
                .with("driver", "virtio-balloon-pci")
                .with("id", "balloon0"),
        ),
        Some("none") => {}
        Some(m) => {
            return Err(Error::unsupported(format!(
                "<memballoon model='{m}'> is not supported; use 'virtio' or 'none'"
            )))
        }
    }
    Ok(())
}

/// Random number generators (libvirt's `qemuBuildRNGCommandLine`).
pub(crate) fn rngs(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    for (i, r) in p.dom.devices.rngs.iter().enumerate() {
        if r.model != "virtio" {
            return Err(Error::unsupported(format!(
                "<rng model='{}'> is not supported; use model='virtio'",
                r.model
            )));
        }
        let obj = format!("objrng{i}");
        let backend = match r.backend_model.as_str() {
            "random" => Props::new()
                .with("qom-type", "rng-random")
                .with("id", obj.as_str())
                .with(
                    "filename",
                    r.backend_dev.as_deref().unwrap_or("/dev/urandom"),
                ),
            "builtin" => Props::new()
                .with("qom-type", "rng-builtin")
                .with("id", obj.as_str()),
            m => {
                return Err(Error::unsupported(format!(
                    "<rng><backend model='{m}'> is not supported; use 'random' or 'builtin'"
                )))
            }
        };
        a.json("-object", &backend);
        a.json(
            "-device",
            &Props::new()
                .with("driver", "virtio-rng-pci")
                .with("rng", obj.as_str())
                .with("id", format!("rng{i}")),
        );
    }
    Ok(())
}
