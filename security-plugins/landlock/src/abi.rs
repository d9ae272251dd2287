//! The Landlock ABI this kernel offers, and what each level confines.

/// `LANDLOCK_CREATE_RULESET_VERSION`.
const CREATE_RULESET_VERSION: libc::c_uint = 1;

/// The kernel's Landlock ABI version; `None` when Landlock is absent or disabled.
pub fn abi_version() -> Option<u32> {
    // SAFETY: landlock_create_ruleset(NULL, 0, VERSION) only returns a number.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(rc).ok().filter(|v| *v > 0)
}

/// What a ruleset can confine at one ABI version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub abi: u32,
    /// Files and directories (ABI 1; `refer` 2, `truncate` 3, device `ioctl` 5).
    pub fs: bool,
    /// TCP bind and connect (ABI 4).
    pub net: bool,
    /// Signals and abstract unix sockets outside the domain (ABI 6).
    pub scopes: bool,
}

/// The level of ABI `abi`.
pub fn level(abi: u32) -> Level {
    Level {
        abi,
        fs: abi >= 1,
        net: abi >= 4,
        scopes: abi >= 6,
    }
}

impl Level {
    /// `abi=7 fs net scopes`: the label the backend gives a VM.
    pub fn describe(&self) -> String {
        let mut s = format!("abi={}", self.abi);
        for (on, name) in [(self.fs, "fs"), (self.net, "net"), (self.scopes, "scopes")] {
            if on {
                s.push(' ');
                s.push_str(name);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_kernel_abi() {
        assert_eq!(level(3).describe(), "abi=3 fs");
        assert_eq!(level(5).describe(), "abi=5 fs net");
        assert_eq!(level(6).describe(), "abi=6 fs net scopes");
    }
}
