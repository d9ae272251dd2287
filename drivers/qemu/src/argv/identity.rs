//! Who the VM is: `-name guest=NAME,debug-threads=on` and `-uuid`.

use super::plan::Plan;
use super::props::{kv_escape, Args};
use oxvirt_core::domain::Domain;
use oxvirt_core::{Error, Result};

/// A domain needs a name.
pub(crate) fn check(dom: &Domain) -> Result<()> {
    if dom.name.is_empty() {
        return Err(Error::xml("domain has no <name>"));
    }
    Ok(())
}

/// `-name` (libvirt's `qemuBuildNameCommandLine`).
pub(crate) fn name(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    a.opt(
        "-name",
        format!("guest={},debug-threads=on", kv_escape(&p.dom.name)),
    );
    Ok(())
}

/// `-uuid`.
pub(crate) fn uuid(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    a.opt("-uuid", p.dom.uuid.hyphenated().to_string());
    Ok(())
}
