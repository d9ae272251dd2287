//! Lifecycle actions on the command line: always `-no-shutdown`, because the
//! supervisor applies `<on_poweroff>` itself when the guest shuts down (QEMU stays,
//! paused, and reports `SHUTDOWN`).

use super::plan::Plan;
use super::props::Args;
use oxvirt_core::Result;

/// `-no-shutdown` (libvirt's `qemuBuildPMCommandLine`).
pub(crate) fn no_shutdown(_: &Plan<'_>, a: &mut Args) -> Result<()> {
    a.flag("-no-shutdown");
    Ok(())
}
