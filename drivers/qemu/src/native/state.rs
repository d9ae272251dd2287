//! The conversion in progress: the domain being filled in, what is kept as
//! `<qemu:commandline>`, the warnings, and what options leave for the end.

use oxvirt_core::domain::{Clock, ClockOffset, Domain, LifecycleAction, QemuCommandline};

/// What the option handlers fill in.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub dom: Domain,
    /// Arguments and environment kept verbatim.
    pub extra: QemuCommandline,
    pub warnings: Vec<String>,
    /// `-net nic` models and MACs, made into interfaces at the end.
    pub nics: Vec<(Option<String>, Option<String>)>,
    /// A `-net user` or `-netdev user` was given.
    pub user_net: bool,
}

impl State {
    /// A domain with libvirt 0.7's defaults for a native line: 128 MiB, 1 vCPU, ACPI
    /// on, UTC clock, destroy/restart/destroy.
    pub(crate) fn new() -> State {
        let mut dom = Domain::default();
        dom.os.os_type = "hvm".into();
        dom.features.acpi = true;
        dom.vcpu.count = 1;
        dom.memory_kib = 128 * 1024;
        dom.clock = Some(Clock::new(ClockOffset::Utc));
        dom.on_poweroff = Some(LifecycleAction::Destroy);
        dom.on_reboot = Some(LifecycleAction::Restart);
        dom.on_crash = Some(LifecycleAction::Destroy);
        State {
            dom,
            ..State::default()
        }
    }

    /// Keep `opt` (and its value) as `<qemu:arg>`s, with a warning.
    pub(crate) fn keep(&mut self, opt: &str, value: Option<String>) {
        self.warnings.push(format!(
            "argument '{}' is not understood; kept as <qemu:commandline>",
            match &value {
                Some(v) => format!("{opt} {v}"),
                None => opt.to_string(),
            }
        ));
        self.extra.args.push(opt.to_string());
        self.extra.args.extend(value);
    }

    /// The domain and the warnings; `<qemu:commandline>` only when something was kept.
    pub(crate) fn into_result(mut self) -> (Domain, Vec<String>) {
        if !self.extra.args.is_empty() || !self.extra.env.is_empty() {
            self.dom.qemu_commandline = Some(self.extra);
        }
        (self.dom, self.warnings)
    }
}
