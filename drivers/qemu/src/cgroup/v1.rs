//! cgroup v1: the `devices` controller's `devices.deny` / `devices.allow` files.

use super::fs::{err, remove};
use super::rules::DeviceRule;
use oxvirt_core::Result;
use std::path::Path;

/// Where the v1 devices controller is mounted.
pub const DEVICES_MOUNT: &str = "/sys/fs/cgroup/devices";

/// Is the v1 devices controller there?
pub fn available() -> bool {
    Path::new(DEVICES_MOUNT).join("devices.allow").exists()
}

/// Create the cgroup at `dir` (under [`DEVICES_MOUNT`]) and install `rules`: `a` is
/// denied first, then each rule allowed. On failure the cgroup is removed again.
pub fn create(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| err(format!("cannot create cgroup '{}': {e}", dir.display())))?;
    let write = |file: &str, line: &str| {
        std::fs::write(dir.join(file), line).map_err(|e| {
            err(format!(
                "cannot write '{line}' to {}: {e}",
                dir.join(file).display()
            ))
        })
    };
    let res = (|| {
        write("devices.deny", "a")?;
        for r in rules {
            write("devices.allow", &r.line())?;
        }
        Ok(())
    })();
    if res.is_err() {
        let _ = remove(dir);
    }
    res
}
