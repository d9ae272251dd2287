//! `<os>`: the guest's firmware, machine, boot order and direct kernel boot.

/// `<os>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Os {
    /// `<type>` text: `hvm` for every QEMU guest.
    pub os_type: String,
    pub arch: Option<String>,
    pub machine: Option<String>,
    /// `<boot dev=..>` in order.
    pub boot: Vec<BootDev>,
    /// `<bootmenu enable='yes|no'>`.
    pub bootmenu: Option<bool>,
    pub kernel: Option<String>,
    pub initrd: Option<String>,
    pub cmdline: Option<String>,
    /// `<loader>` path (firmware), when given.
    pub loader: Option<String>,
    /// `<loader readonly='yes|no'>`.
    pub loader_readonly: Option<bool>,
    /// `<loader type='rom|pflash'>`.
    pub loader_type: Option<String>,
    /// `<nvram template=..>PATH</nvram>`.
    pub nvram: Option<Nvram>,
}

/// `<nvram template=..>PATH</nvram>`: the UEFI variable store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Nvram {
    pub path: Option<String>,
    pub template: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootDev {
    Hd,
    Cdrom,
    Fd,
    Network,
}

impl BootDev {
    pub fn as_str(self) -> &'static str {
        match self {
            BootDev::Hd => "hd",
            BootDev::Cdrom => "cdrom",
            BootDev::Fd => "fd",
            BootDev::Network => "network",
        }
    }
}
