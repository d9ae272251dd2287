//! How the manager drives QEMU: `-S` (the supervisor sends `cont` once it is ready),
//! no configuration files and no default devices (`-no-user-config`, `-nodefaults`:
//! every device is on the command line), and the QMP monitor on the socket QEMU
//! listens on (`-chardev socket,...,server=on,wait=off` + `-mon`).

use super::plan::Plan;
use super::props::{kv_escape, Args};
use oxvirt_core::Result;

/// `-S`: CPUs stay stopped until the supervisor says `cont`.
pub(crate) fn paused(_: &Plan<'_>, a: &mut Args) -> Result<()> {
    a.flag("-S");
    Ok(())
}

/// `-no-user-config -nodefaults`.
pub(crate) fn defaults(_: &Plan<'_>, a: &mut Args) -> Result<()> {
    a.flag("-no-user-config");
    a.flag("-nodefaults");
    Ok(())
}

/// The QMP monitor (libvirt's `qemuBuildMonitorCommandLine`).
pub(crate) fn monitor(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    a.opt(
        "-chardev",
        format!(
            "socket,id=charmonitor,path={},server=on,wait=off",
            kv_escape(&p.ctx.monitor_socket.to_string_lossy())
        ),
    );
    a.opt("-mon", "chardev=charmonitor,id=monitor,mode=control");
    Ok(())
}
