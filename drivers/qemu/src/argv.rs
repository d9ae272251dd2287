//! Domain model → QEMU command line. The one code path used by `start` and
//! `domxml-to-native`.
//!
//! The output follows what libvirt 9.0 puts on a QEMU 7.2 command line (checked with
//! `virsh -c qemu:///embed?root=... domxml-to-native qemu-argv`): the same option order,
//! the same device ids (`ide0-1-0`, `virtio-disk0`, `net0`, `charserial0`, ...), the same
//! `-blockdev` node names (`libvirt-N-storage`/`libvirt-N-format`) and JSON syntax for
//! `-device`, `-blockdev`, `-netdev` and `-object`; key=value for `-chardev`, `-machine`.
//!
//! Where oxvirt differs from libvirt 9.0 on purpose:
//! - no `-object secret` master key, no `memory-backend-ram` object (`-m` alone);
//! - no explicit PCI `bus`/`addr` on devices: QEMU assigns slots on `pcie.0`/`pci.0` in
//!   argument order; `<controller model='pcie-root-port'>`s are created (libvirt's
//!   port/chassis/addr) but left empty for hotplug; only `piix3-usb-uhci` keeps `0x1.0x2`;
//! - `acpi=off` in `-machine` instead of the deprecated `-no-acpi`;
//! - machine aliases (`pc`, `q35`) are passed as given, not expanded to `pc-i440fx-7.2`
//!   (needs probed capabilities; see [`QemuCaps`]);
//! - an implicit SCSI controller is `virtio-scsi-pci` (libvirt: `lsi`);
//! - `domxml-to-native` prints `-netdev user` for user interfaces (libvirt prints a tap
//!   fd for every interface type); tap placeholders are numbered from fd 3;
//! - `host-model` CPU is approximated (`host` on KVM, `max` on TCG) for lack of caps.
//!
//! Like libvirt 9 (and unlike older libvirt): `<boot dev>` becomes `bootindex` on the
//! first device of each kind (no `-boot order=`), a missing `<boot>` means `hd`, memory
//! is rounded up to a whole MiB, defaults are NIC `rtl8139`, video `cirrus`, an implicit
//! USB controller and a virtio balloon, and `-audiodev none`, `-sandbox`,
//! `-msg timestamp=on`, `-overcommit mem-lock=off` are always present.
//!
//! The pipeline ([`build_with_caps`]), in three steps:
//! 1. [`stages::CHECKS`]: refusals of what parses but cannot be built yet (like
//!    libvirt's `qemu_validate.c`), each in the module of its family;
//! 2. [`plan::Plan`]: the facts several families need, computed once and read-only
//!    (capabilities with overrides and the value syntax, libvirt's disk order and boot
//!    indexes, the PCI topology, the USB controller, implied controllers);
//! 3. [`stages::STAGES`]: one builder per stage in libvirt's `qemuBuildCommandLine`
//!    order, each writing only its own family's options — the platform modules
//!    ([`identity`], [`machine`], [`cpu`], [`memory`], [`os`], [`clock`], [`monitor`],
//!    [`lifecycle`], [`commandline`], [`sandbox`]) and the device families under
//!    [`devices`] (the same names as `oxvirt_core::domain`'s).
//!
//! Values are spelled by [`props`] (JSON or `key=value`, `,,` escaping); the
//! environment comes from [`commandline`]; last, every `-device` type is checked
//! against the probed QEMU.

pub mod clock;
pub mod context;
pub mod cpu;
pub mod devices;
pub mod identity;
pub mod lifecycle;
pub mod machine;
pub mod memory;
pub mod monitor;
pub mod os;
pub mod plan;
pub mod props;
pub mod qemu;
pub mod sandbox;
pub mod stages;

use oxvirt_core::domain::Domain;
use oxvirt_core::{Error, Result};
use std::path::PathBuf;

pub use crate::caps::QemuCaps;
pub use context::ArgvContext;

/// A QEMU process to run: environment, binary and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuCommand {
    pub env: Vec<(String, String)>,
    pub binary: PathBuf,
    pub args: Vec<String>,
}

impl QemuCommand {
    /// One line as `virsh domxml-to-native qemu-argv` prints it:
    /// `ENV=VAL ... /usr/bin/qemu-system-x86_64 arg arg ...`, each word shell-quoted
    /// only when needed.
    pub fn to_shell_line(&self) -> String {
        let mut words: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", shell_quote(v)))
            .collect();
        words.push(shell_quote(&self.binary.to_string_lossy()));
        words.extend(self.args.iter().map(|a| shell_quote(a)));
        words.join(" ")
    }

    /// The value of option `opt` (e.g. `-machine`) the first time it appears.
    pub fn option(&self, opt: &str) -> Option<&str> {
        self.args
            .windows(2)
            .find(|w| w[0] == opt)
            .map(|w| w[1].as_str())
    }
}

/// Quote `s` for a POSIX shell when it contains anything but plainly safe
/// characters: single quotes, with `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ',' | ':' | '=' | '@' | '%' | '+')
        });
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Build the command line for `dom` assuming QEMU 7.2 ([`QemuCaps::assumed`]): machine
/// names are passed as given. `start` and `domxml-to-native` use [`build_with_caps`].
pub fn build(dom: &Domain, ctx: &ArgvContext<'_>) -> Result<QemuCommand> {
    build_with_caps(dom, ctx, &QemuCaps::assumed())
}

/// Build the command line for `dom` for the QEMU described by `caps` (with the
/// domain's `<qemu:capabilities>` add/del applied first): machine aliases resolve to
/// the canonical machine, `-accel` follows the domain type and must be available,
/// `-device`/`-blockdev` syntax follows the flags, and every `-device` driver must be
/// a type this QEMU has. See the module docs for other libvirt differences.
///
/// With `ctx.for_native_export == false` an automatic VNC port is left to QEMU
/// (`to=`: the first free display). A VNC password is only announced (`password=on`); the launcher must set
/// it over QMP (`set_password`) before `cont`.
pub fn build_with_caps(
    dom: &Domain,
    ctx: &ArgvContext<'_>,
    caps: &QemuCaps,
) -> Result<QemuCommand> {
    stages::check(dom)?;
    let plan = plan::Plan::new(dom, ctx, caps)?;
    let mut args = props::Args::new(plan.syntax);
    stages::run(&plan, &mut args)?;
    let env = qemu::env(&plan)?;
    check_devices(args.as_slice(), &plan.caps, ctx)?;
    Ok(QemuCommand {
        env,
        binary: ctx.emulator.to_path_buf(),
        args: args.into_vec(),
    })
}

/// Every `-device` driver (also those of `<qemu:arg>`s) must be a type the probed
/// QEMU has.
fn check_devices(args: &[String], caps: &QemuCaps, ctx: &ArgvContext<'_>) -> Result<()> {
    for w in args.windows(2).filter(|w| w[0] == "-device") {
        let driver = if w[1].starts_with('{') {
            serde_json::from_str::<serde_json::Value>(&w[1])
                .ok()
                .and_then(|v| v.get("driver").and_then(|d| d.as_str()).map(str::to_string))
        } else {
            w[1].split(',').next().map(str::to_string)
        };
        if let Some(d) = driver {
            if !caps.has_device(&d) {
                return Err(Error::new(
                    oxvirt_core::ErrorCode::ConfigUnsupported,
                    oxvirt_core::ErrorDomain::Qemu,
                    format!(
                        "unsupported configuration: QEMU '{}' has no device type '{d}'",
                        ctx.emulator.display()
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("-m"), "-m");
        assert_eq!(
            shell_quote("guest=a,debug-threads=on"),
            "guest=a,debug-threads=on"
        );
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("{\"a\":1}"), "'{\"a\":1}'");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
    }

    #[test]
    fn shell_line() {
        let c = QemuCommand {
            env: vec![("LC_ALL".into(), "C".into()), ("X".into(), "a b".into())],
            binary: "/usr/bin/qemu-system-x86_64".into(),
            args: vec!["-name".into(), "guest=x y".into(), "-S".into()],
        };
        assert_eq!(
            c.to_shell_line(),
            "LC_ALL=C X='a b' /usr/bin/qemu-system-x86_64 -name 'guest=x y' -S"
        );
        assert_eq!(c.option("-name"), Some("guest=x y"));
    }
}
