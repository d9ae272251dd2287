//! One open QEMU driver instance: its root's layout, its `qemu.toml` and its URI. The
//! domain table (`table.rs`, looked up through `domains.rs`) and the verbs (`verbs/`) are `impl`s and functions on it.

use crate::paths::RootLayout;
use crate::table::Table;
use oxvirt_config::QemuConfig;
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::path::Path;

/// An open QEMU driver instance on one root.
pub struct QemuDriver {
    pub(crate) layout: RootLayout,
    pub(crate) config: QemuConfig,
    pub(crate) uri: String,
    /// Every domain of the root, kept current (`table.rs`).
    pub(crate) table: Table,
    /// Held from a define's identity check to its write, so two defines in this
    /// process cannot both claim one name or uuid.
    pub(crate) define_lock: std::sync::Mutex<()>,
    /// The supervisors' notifications, once the daemon asked for changes (`notify.rs`).
    pub(crate) listener: std::sync::OnceLock<Option<crate::notify::Listener>>,
}

impl QemuDriver {
    /// Open the embedded driver on `root` (`qemu:///embed?root=ROOT`).
    pub fn open_embed(root: &Path) -> Result<QemuDriver> {
        if !root.is_absolute() {
            return Err(Error::invalid_arg(format!(
                "embedded driver root '{}' must be an absolute path",
                root.display()
            )));
        }
        let layout = RootLayout::new(root);
        layout.create_tree()?;
        let config = QemuConfig::load_or_default(&layout.config_file())
            .map_err(|e| Error::new(ErrorCode::ConfNotFound, ErrorDomain::Config, e.to_string()))?;
        // A built-in backend named in security_driver that this host cannot run
        // (SELinux on a kernel without it) fails the open, as libvirt's driver start
        // does, not the first start of a VM. Plugins are checked when used.
        let settings = crate::security::SecuritySpec::from_config(&config, &layout.root).settings;
        for name in config.security_driver.names() {
            if let Some(Ok(b)) = oxvirt_core::security::builtin_backend(name, &settings) {
                b.probe()?;
            }
        }
        Ok(QemuDriver {
            uri: format!("qemu:///embed?root={}", root.display()),
            table: Table::new(&layout),
            define_lock: std::sync::Mutex::new(()),
            listener: std::sync::OnceLock::new(),
            layout,
            config,
        })
    }

    pub fn layout(&self) -> &RootLayout {
        &self.layout
    }
}
