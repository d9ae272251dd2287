//! The last options: QEMU's seccomp sandbox (qemu.toml `seccomp_sandbox`: 0 turns it
//! off, -1 and 1 turn it on with libvirt's options) and `-msg timestamp=on`.

use super::plan::Plan;
use super::props::Args;
use oxvirt_core::Result;

/// `-sandbox` (libvirt's `qemuBuildSeccompSandboxCommandLine`).
pub(crate) fn sandbox(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    if p.ctx.seccomp_sandbox == 0 {
        a.opt("-sandbox", "off");
    } else {
        a.opt(
            "-sandbox",
            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
        );
    }
    Ok(())
}

/// `-msg timestamp=on`.
pub(crate) fn msg(_: &Plan<'_>, a: &mut Args) -> Result<()> {
    a.opt("-msg", "timestamp=on");
    Ok(())
}
