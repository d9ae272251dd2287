//! The `qemu.toml` configuration as a value: [`QemuConfig`] with libvirt's defaults for a
//! privileged instance, and [`SecurityDriverSetting`]. The section modules convert and
//! check its fields; `mod.rs` loads it.

use std::path::PathBuf;

/// `security_driver`: one name, a list (first is primary), or unset (probe).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SecurityDriverSetting {
    #[default]
    Unset,
    One(String),
    List(Vec<String>),
}

impl SecurityDriverSetting {
    /// The configured names in order (empty when unset).
    pub fn names(&self) -> Vec<&str> {
        match self {
            SecurityDriverSetting::Unset => Vec::new(),
            SecurityDriverSetting::One(n) => vec![n.as_str()],
            SecurityDriverSetting::List(l) => l.iter().map(String::as_str).collect(),
        }
    }

    /// `security_driver = "none"` (or `["none"]`): no confinement at all.
    pub fn is_none(&self) -> bool {
        self.names() == ["none"]
    }
}

/// Every key of `qemu.toml`. Names and meanings are qemu.conf's unless marked oxvirt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuConfig {
    /// User QEMU runs as (`"name"` or `"+uid"`); `None`: the daemon's own user.
    pub user: Option<String>,
    /// Group QEMU runs as (`"name"` or `"+gid"`); `None`: the daemon's own group.
    pub group: Option<String>,
    pub dynamic_ownership: bool,
    pub remember_owner: bool,
    pub security_driver: SecurityDriverSetting,
    pub security_default_confined: bool,
    pub security_require_confined: bool,
    pub clear_emulator_capabilities: bool,
    /// `None`: use every controller that is mounted.
    pub cgroup_controllers: Option<Vec<String>>,
    /// `None`: libvirt's default list (`DEFAULT_CGROUP_DEVICE_ACL`).
    pub cgroup_device_acl: Option<Vec<String>>,
    /// -1: QEMU's default (enabled on every QEMU we support), 0: off, 1: on.
    pub seccomp_sandbox: i32,
    pub namespaces: Vec<String>,
    /// 0: leave the limit alone.
    pub max_processes: u64,
    /// 0: leave the limit alone.
    pub max_files: u64,
    /// Address VNC servers listen on when the domain XML gives none.
    pub vnc_listen: String,
    /// oxvirt: where external plugins (`.so`) are loaded from.
    pub plugin_dir: Option<PathBuf>,
    /// oxvirt: where QEMU binaries are looked for.
    pub emulator_dirs: Vec<PathBuf>,
    /// oxvirt: where the AppArmor backend keeps the VMs' profiles; `None`:
    /// `/etc/apparmor.d/libvirt`, under the root for `qemu:///embed`.
    pub apparmor_profile_dir: Option<PathBuf>,
    /// oxvirt: `destroy` sends SIGTERM, then SIGKILL after this many seconds.
    pub destroy_grace_seconds: u64,
    /// oxvirt: how long `shutdown` waits for the guest to power off.
    pub shutdown_timeout_seconds: u64,
}

impl Default for QemuConfig {
    /// libvirt's defaults for a privileged (system) instance.
    fn default() -> Self {
        QemuConfig {
            user: None,
            group: None,
            dynamic_ownership: true,
            remember_owner: true,
            security_driver: SecurityDriverSetting::Unset,
            security_default_confined: true,
            security_require_confined: false,
            clear_emulator_capabilities: true,
            cgroup_controllers: None,
            cgroup_device_acl: None,
            seccomp_sandbox: -1,
            namespaces: vec!["mount".to_string()],
            max_processes: 0,
            max_files: 0,
            vnc_listen: "127.0.0.1".to_string(),
            plugin_dir: None,
            emulator_dirs: vec![PathBuf::from("/usr/bin")],
            apparmor_profile_dir: None,
            destroy_grace_seconds: 10,
            shutdown_timeout_seconds: 300,
        }
    }
}
