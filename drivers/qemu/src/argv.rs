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
//! Submodules: [`disks`], [`chardev`], [`devices`] (net, USB, input, graphics, video,
//! balloon, rng), [`guest_extras`] (PCIe root ports, CPU topology/features, sound and
//! audio, and start-time refusals of what parses but cannot run) and [`props`]
//! (JSON / key=value spelling).

pub mod chardev;
pub mod devices;
pub mod disks;
pub mod guest_extras;
pub mod props;

use oxvirt_core::domain::{BootDev, ClockOffset, DiskDevice, Domain, VirtType};
use oxvirt_core::{Error, Result};
use props::{kv_escape, Props};
use std::path::{Path, PathBuf};

/// Host-side facts the command line needs that are not in the domain XML.
#[derive(Debug, Clone)]
pub struct ArgvContext<'a> {
    /// The QEMU binary to run (the domain's `<emulator>` or the probed default).
    pub emulator: &'a Path,
    /// The QMP socket QEMU listens on (`server=on,wait=off`).
    pub monitor_socket: &'a Path,
    /// The VM's private directory (`lib/qemu/domain-ID-NAME`), for other sockets.
    pub domain_dir: &'a Path,
    /// `true` for `domxml-to-native`: nothing on the host is touched or allocated.
    /// Interfaces that need a tap device print as `-netdev tap,fd=N` placeholders
    /// (as libvirt does) and an autoport VNC display prints as display 0. `false` for
    /// a real start, where such interfaces are an error and a free VNC port is found.
    pub for_native_export: bool,
    /// qemu.toml `seccomp_sandbox`: 0 turns QEMU's seccomp sandbox off, -1 (the default)
    /// and 1 turn it on with libvirt's options.
    pub seccomp_sandbox: i32,
    /// qemu.toml `vnc_listen`: the address a `<graphics type='vnc'>` without `listen`
    /// listens on.
    pub vnc_listen: &'a str,
}

pub use crate::caps::QemuCaps;

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

/// Syntax choices taken from the capabilities.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Syntax {
    /// `-device driver,key=value` instead of JSON (no `device.json` flag).
    pub device_keyval: bool,
    /// `-drive ...,if=none` instead of `-blockdev` (no `blockdev` flag).
    pub legacy_drive: bool,
}

/// The argument list being built, with helpers for the two value syntaxes.
#[derive(Debug, Default)]
pub(crate) struct Args(Vec<String>, pub(crate) Syntax);

impl Args {
    pub(crate) fn flag(&mut self, f: &str) {
        self.0.push(f.to_string());
    }
    pub(crate) fn opt(&mut self, o: &str, v: impl Into<String>) {
        self.0.push(o.to_string());
        self.0.push(v.into());
    }
    pub(crate) fn json(&mut self, o: &str, p: &Props) {
        if o == "-device" && self.1.device_keyval {
            self.opt(o, p.to_keyval("driver"));
        } else {
            self.opt(o, p.to_json());
        }
    }
}

/// Whether the machine type is a q35 (ICH9, PCIe, AHCI built in, no IDE).
pub(crate) fn is_q35(dom: &Domain) -> bool {
    dom.os
        .machine
        .as_deref()
        .is_some_and(|m| m == "q35" || m.starts_with("pc-q35"))
}

const PATH_ENV: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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
/// With `ctx.for_native_export == false` this may probe the host for a free VNC port
/// (autoport). A VNC password is only announced (`password=on`); the launcher must set
/// it over QMP (`set_password`) before `cont`.
pub fn build_with_caps(
    dom: &Domain,
    ctx: &ArgvContext<'_>,
    caps: &QemuCaps,
) -> Result<QemuCommand> {
    validate_top(dom)?;
    guest_extras::check_unsupported(dom)?;
    let filled = guest_extras::with_channel_paths(dom, ctx.domain_dir);
    let dom = filled.as_ref().unwrap_or(dom);
    let caps = caps.with_overrides(dom);
    let mut a = Args(
        Vec::new(),
        Syntax {
            device_keyval: !caps.has("device.json"),
            legacy_drive: !caps.has("blockdev"),
        },
    );
    if a.1.legacy_drive && !caps.has("drive") {
        return Err(Error::unsupported(format!(
            "QEMU '{}' supports neither -blockdev nor -drive (capabilities 'blockdev' and 'drive' are both off)",
            ctx.emulator.display()
        )));
    }

    a.opt(
        "-name",
        format!("guest={},debug-threads=on", kv_escape(&dom.name)),
    );
    a.flag("-S");

    let machine = if caps.machines.is_empty() {
        dom.os.machine.as_deref().unwrap_or("pc")
    } else {
        caps.resolve_machine(dom.os.machine.as_deref())?
            .name
            .as_str()
    };
    let mut m = format!("{},usb=off,dump-guest-core=off", kv_escape(machine));
    if !dom.features.acpi {
        m.push_str(",acpi=off");
    }
    a.opt("-machine", m);
    a.opt("-accel", accel(dom, &caps, ctx)?);
    let cpu = cpu_model(dom)?;
    // libvirt's default CPU follows the binary: qemu32 for qemu-system-i386.
    let cpu = if dom.cpu.is_none() && caps.target == "i386" {
        "qemu32".to_string()
    } else {
        cpu
    };
    a.opt("-cpu", guest_extras::cpu_with_features(dom, cpu)?);
    if let Some(loader) = &dom.os.loader {
        a.opt("-bios", loader.clone());
    }
    // libvirt aligns memory up to a whole MiB on x86 and passes `-m MiB`.
    a.opt("-m", dom.memory_kib.div_ceil(1024).to_string());
    a.opt("-overcommit", "mem-lock=off");
    let smp = match guest_extras::smp_with_topology(dom)? {
        Some(s) => s,
        None => smp(dom)?,
    };
    a.opt("-smp", smp);
    a.opt("-uuid", dom.uuid.hyphenated().to_string());
    if dom.devices.graphics.is_empty() {
        a.opt("-display", "none");
    }
    a.flag("-no-user-config");
    a.flag("-nodefaults");
    a.opt(
        "-chardev",
        format!(
            "socket,id=charmonitor,path={},server=on,wait=off",
            kv_escape(&ctx.monitor_socket.to_string_lossy())
        ),
    );
    a.opt("-mon", "chardev=charmonitor,id=monitor,mode=control");
    a.opt("-rtc", rtc(dom));
    // Always: the supervisor applies on_poweroff itself.
    a.flag("-no-shutdown");
    a.opt(
        "-boot",
        if dom.os.bootmenu == Some(true) {
            "menu=on,strict=on"
        } else {
            "strict=on"
        },
    );
    if let Some(k) = &dom.os.kernel {
        a.opt("-kernel", k.clone());
    }
    if let Some(i) = &dom.os.initrd {
        a.opt("-initrd", i.clone());
    }
    if let Some(c) = &dom.os.cmdline {
        a.opt("-append", c.clone());
    }

    let boot = boot_indexes(dom)?;
    guest_extras::pci_controllers(dom, &mut a)?;
    devices::controllers(dom, &mut a)?;
    disks::build(dom, &boot.disks, &mut a)?;
    devices::interfaces(dom, &boot.interfaces, ctx, &mut a)?;
    chardev::build(dom, &mut a)?;
    devices::inputs(dom, &mut a)?;
    guest_extras::audiodev(dom, &mut a);
    devices::graphics(dom, ctx, &mut a)?;
    devices::videos(dom, &mut a)?;
    guest_extras::sounds(dom, &mut a)?;
    devices::memballoon(dom, &mut a)?;
    devices::rngs(dom, &mut a)?;
    // libvirt puts <qemu:arg>s after the devices, before -sandbox and -msg.
    if let Some(cl) = &dom.qemu_commandline {
        a.0.extend(cl.args.iter().cloned());
    }
    if ctx.seccomp_sandbox == 0 {
        a.opt("-sandbox", "off");
    } else {
        a.opt(
            "-sandbox",
            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
        );
    }
    a.opt("-msg", "timestamp=on");

    let dir = ctx.domain_dir.to_string_lossy();
    let mut env = vec![
        ("LC_ALL".to_string(), "C".to_string()),
        ("PATH".to_string(), PATH_ENV.to_string()),
        ("HOME".to_string(), dir.to_string()),
        ("XDG_DATA_HOME".to_string(), format!("{dir}/.local/share")),
        ("XDG_CACHE_HOME".to_string(), format!("{dir}/.cache")),
        ("XDG_CONFIG_HOME".to_string(), format!("{dir}/.config")),
    ];
    if let Some(cl) = &dom.qemu_commandline {
        for (k, v) in &cl.env {
            if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(Error::unsupported(format!(
                    "<qemu:env name='{k}'>: the name must be letters, digits and '_'"
                )));
            }
            env.push((k.clone(), v.clone().unwrap_or_default()));
        }
    }

    check_devices(&a.0, &caps, ctx)?;
    Ok(QemuCommand {
        env,
        binary: ctx.emulator.to_path_buf(),
        args: a.0,
    })
}

fn accel(dom: &Domain, caps: &QemuCaps, ctx: &ArgvContext<'_>) -> Result<&'static str> {
    match dom.virt_type {
        VirtType::Kvm if !caps.kvm_usable || !caps.has("kvm") => Err(Error::new(
            oxvirt_core::ErrorCode::ConfigUnsupported,
            oxvirt_core::ErrorDomain::Qemu,
            format!(
                "unsupported configuration: Domain requires KVM, but it is not available \
                 for '{}' (/dev/kvm missing or not usable, or QEMU built without KVM). \
                 Check that virtualization is enabled in the host BIOS and the kvm \
                 modules are loaded, or use <domain type='qemu'>",
                ctx.emulator.display()
            ),
        )),
        VirtType::Kvm => Ok("kvm"),
        VirtType::Qemu if !caps.has("tcg") => Err(Error::new(
            oxvirt_core::ErrorCode::ConfigUnsupported,
            oxvirt_core::ErrorDomain::Qemu,
            format!(
                "unsupported configuration: QEMU '{}' has no TCG accelerator; use <domain type='kvm'>",
                ctx.emulator.display()
            ),
        )),
        VirtType::Qemu => Ok("tcg"),
    }
}

/// Every `-device` driver must be a type the probed QEMU has.
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

fn validate_top(dom: &Domain) -> Result<()> {
    if dom.name.is_empty() {
        return Err(Error::xml("domain has no <name>"));
    }
    if dom.memory_kib == 0 {
        return Err(Error::xml(
            "domain has no <memory>; give it one, e.g. <memory unit='MiB'>128</memory>",
        ));
    }
    if let Some(arch) = dom.os.arch.as_deref() {
        if !matches!(arch, "x86_64" | "i686") {
            return Err(Error::unsupported(format!(
                "<os><type arch='{arch}'>: only x86_64 and i686 guests are supported"
            )));
        }
    }
    Ok(())
}

fn cpu_model(dom: &Domain) -> Result<String> {
    let Some(cpu) = &dom.cpu else {
        // libvirt takes QEMU's default CPU type (qemu64) for both TCG and KVM.
        return Ok("qemu64".into());
    };
    match cpu.mode.as_deref().unwrap_or("custom") {
        "host-passthrough" | "maximum" if dom.virt_type == VirtType::Kvm => Ok("host".into()),
        "host-passthrough" => Err(Error::unsupported(
            "<cpu mode='host-passthrough'> needs <domain type='kvm'>; TCG cannot pass the host CPU through (use mode='maximum' or a named <model>)",
        )),
        "maximum" => Ok("max".into()),
        // Without probed capabilities host-model cannot be expanded to a named model
        // with features as libvirt does; approximate it.
        "host-model" if dom.virt_type == VirtType::Kvm => Ok("host".into()),
        "host-model" => Ok("max".into()),
        "custom" => match &cpu.model {
            Some(m) if !m.is_empty() && m.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) => Ok(m.clone()),
            Some(m) => Err(Error::xml(format!("<cpu><model>{m}</model>: not a CPU model name"))),
            None => Ok("qemu64".into()),
        },
        other => Err(Error::xml(format!(
            "<cpu mode='{other}'>: unknown mode (use custom, host-model, host-passthrough or maximum)"
        ))),
    }
}

fn smp(dom: &Domain) -> Result<String> {
    let max = dom.vcpu.count;
    if max == 0 {
        return Err(Error::xml("<vcpu> must be at least 1"));
    }
    match dom.vcpu.current {
        Some(cur) if cur == 0 || cur > max => Err(Error::xml(format!(
            "<vcpu current='{cur}'> must be between 1 and the maximum {max}"
        ))),
        Some(cur) if cur < max => Ok(format!(
            "{cur},maxcpus={max},sockets={max},cores=1,threads=1"
        )),
        _ => Ok(format!("{max},sockets={max},cores=1,threads=1")),
    }
}

fn rtc(dom: &Domain) -> String {
    let mut s = match dom.clock.as_ref().map(|c| c.offset) {
        Some(ClockOffset::Localtime) => "base=localtime".to_string(),
        _ => "base=utc".to_string(),
    };
    if let Some(c) = &dom.clock {
        if c.timers
            .iter()
            .any(|t| t.name == "rtc" && t.tickpolicy.as_deref() == Some("catchup"))
        {
            s.push_str(",driftfix=slew");
        }
    }
    s
}

/// `bootindex` per disk and interface (by position in `devices`).
#[derive(Debug, Default)]
pub(crate) struct BootIndexes {
    pub disks: Vec<Option<u32>>,
    pub interfaces: Vec<Option<u32>>,
}

/// libvirt 9 turns `<os><boot dev=..>` into `bootindex` on the first device of each
/// kind (index = position in the `<boot>` list), rather than `-boot order=`; per-device
/// `<boot order>` is used as is. The two cannot be mixed. No boot element at all
/// means `<boot dev='hd'/>`, so the first disk gets `bootindex` 1.
fn boot_indexes(dom: &Domain) -> Result<BootIndexes> {
    let d = &dom.devices;
    let mut b = BootIndexes {
        disks: d.disks.iter().map(|x| x.boot_order).collect(),
        interfaces: d.interfaces.iter().map(|x| x.boot_order).collect(),
    };
    let per_device = b.disks.iter().chain(&b.interfaces).any(Option::is_some);
    if per_device && !dom.os.boot.is_empty() {
        return Err(Error::xml(
            "per-device <boot order> cannot be used together with <os><boot dev>; keep one of them",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for o in b.disks.iter().chain(&b.interfaces).flatten() {
        if !seen.insert(*o) {
            return Err(Error::xml(format!(
                "<boot order='{o}'> is used by two devices"
            )));
        }
    }
    let sorted = disks::sorted_order(&d.disks);
    // libvirt's parser makes a missing <boot> mean <boot dev='hd'/>.
    let default_boot = [BootDev::Hd];
    let boot_devs: &[BootDev] = if dom.os.boot.is_empty() && !per_device {
        &default_boot
    } else {
        &dom.os.boot
    };
    for (i, dev) in boot_devs.iter().enumerate() {
        let idx = i as u32 + 1;
        match dev {
            BootDev::Hd | BootDev::Cdrom | BootDev::Fd => {
                let want = match dev {
                    BootDev::Hd => DiskDevice::Disk,
                    BootDev::Cdrom => DiskDevice::Cdrom,
                    _ => DiskDevice::Floppy,
                };
                if let Some(&n) = sorted.iter().find(|&&n| d.disks[n].device == want) {
                    b.disks[n].get_or_insert(idx);
                }
            }
            BootDev::Network => {
                if let Some(slot) = b.interfaces.first_mut() {
                    slot.get_or_insert(idx);
                }
            }
        }
    }
    Ok(b)
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
