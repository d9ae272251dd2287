//! What happens when the guest powers off, reboots or crashes (`on_poweroff`,
//! `on_reboot`, `on_crash`), and which sleep states it may enter (`<pm>`).

/// `on_poweroff`, `on_reboot`, `on_crash` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleAction {
    Destroy,
    Restart,
    Preserve,
    RenameRestart,
    CoredumpDestroy,
    CoredumpRestart,
}

impl LifecycleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleAction::Destroy => "destroy",
            LifecycleAction::Restart => "restart",
            LifecycleAction::Preserve => "preserve",
            LifecycleAction::RenameRestart => "rename-restart",
            LifecycleAction::CoredumpDestroy => "coredump-destroy",
            LifecycleAction::CoredumpRestart => "coredump-restart",
        }
    }
}

/// `<pm><suspend-to-mem enabled=..><suspend-to-disk enabled=..></pm>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pm {
    pub suspend_to_mem: Option<bool>,
    pub suspend_to_disk: Option<bool>,
}
