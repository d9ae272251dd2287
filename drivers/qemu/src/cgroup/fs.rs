//! What both hierarchies do on the cgroup filesystem: their error, and removing a VM's
//! cgroup.

use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::path::Path;

pub(crate) fn err(msg: String) -> Error {
    Error::new(ErrorCode::SystemError, ErrorDomain::Qemu, msg)
}

/// Remove the cgroup (it must have no processes left). Missing is fine. The same for
/// both kinds: in v2 the removal also detaches and frees the device program.
pub fn remove(dir: &Path) -> Result<()> {
    for _ in 0..50 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            // EBUSY while the last task is still exiting.
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    std::fs::remove_dir(dir)
        .map_err(|e| err(format!("cannot remove cgroup '{}': {e}", dir.display())))
}
