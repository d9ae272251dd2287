//! The table from option name to handler, one line per option, grouped by family,
//! and the steps that run after the last option. An option takes a value when its
//! line says so; a handler returns whether it understood the option (else it is kept
//! as `<qemu:commandline>` with a warning).

use super::state::State;
use super::{chardev, clock, disk, graphics, identity, interface, lifecycle, machine, memory, os};
use oxvirt_core::Result;

/// Converts one option (`opt` as normalised: `--m` is `-m`) with its value (`""` for
/// a flag); `Ok(false)`: not understood.
pub(crate) type Handler = fn(&mut State, &str, &str) -> Result<bool>;

/// One option QEMU knows.
pub(crate) struct Opt {
    pub name: &'static str,
    pub takes_value: bool,
    pub handle: Handler,
}

const fn flag(name: &'static str, handle: Handler) -> Opt {
    Opt {
        name,
        takes_value: false,
        handle,
    }
}

const fn value(name: &'static str, handle: Handler) -> Opt {
    Opt {
        name,
        takes_value: true,
        handle,
    }
}

/// What libvirt manages itself (monitor, daemonizing, defaults, ...): nothing to convert.
fn managed(_: &mut State, _: &str, _: &str) -> Result<bool> {
    Ok(true)
}

/// `-display none` is managed; other displays are kept.
fn display(_: &mut State, _: &str, v: &str) -> Result<bool> {
    Ok(v == "none")
}

/// Known to take a value, never converted: kept verbatim with its value.
fn kept(_: &mut State, _: &str, _: &str) -> Result<bool> {
    Ok(false)
}

/// Every option the importer knows. Options not in the table are kept, with the word
/// after them when that is not an option.
pub(crate) const OPTIONS: &[Opt] = &[
    // machine, accelerator
    value("-M", machine::machine),
    value("-machine", machine::machine),
    value("-accel", machine::accel),
    flag("-enable-kvm", machine::enable_kvm),
    flag("-no-acpi", machine::no_acpi),
    // memory, vCPUs
    value("-m", memory::memory),
    value("-smp", memory::smp),
    // identity
    value("-name", identity::name),
    value("-uuid", identity::uuid),
    // os, boot, kernel
    value("-boot", os::boot),
    value("-kernel", os::kernel),
    value("-initrd", os::initrd),
    value("-append", os::append),
    // disks
    value("-hda", disk::hdx),
    value("-hdb", disk::hdx),
    value("-hdc", disk::hdx),
    value("-hdd", disk::hdx),
    value("-cdrom", disk::cdrom),
    value("-drive", disk::drive),
    // network
    value("-net", interface::net),
    value("-netdev", interface::netdev),
    // graphics
    value("-vnc", graphics::vnc),
    value("-display", display),
    flag("-nographic", managed),
    // chardevs
    value("-serial", chardev::serial),
    value("-parallel", managed),
    value("-monitor", managed),
    value("-qmp", managed),
    // clock, lifecycle
    value("-rtc", clock::rtc),
    flag("-no-reboot", lifecycle::no_reboot),
    // managed by libvirt
    flag("-S", managed),
    flag("-usb", managed),
    flag("-no-user-config", managed),
    flag("-nodefaults", managed),
    flag("-no-shutdown", managed),
    flag("-daemonize", managed),
    flag("-no-kqemu", managed),
    flag("-no-hpet", managed),
    value("-msg", managed),
    value("-overcommit", managed),
    value("-sandbox", managed),
    value("-pidfile", managed),
    // kept verbatim, with their value
    value("-fda", kept),
    value("-fdb", kept),
    value("-cpu", kept),
    value("-device", kept),
    value("-chardev", kept),
    value("-mon", kept),
    value("-object", kept),
    value("-blockdev", kept),
    value("-vga", kept),
    value("-bios", kept),
    value("-k", kept),
    value("-audiodev", kept),
    value("-global", kept),
    value("-D", kept),
    value("-d", kept),
    value("-L", kept),
    value("-smbios", kept),
    value("-numa", kept),
    value("-incoming", kept),
    value("-usbdevice", kept),
    value("-soundhw", kept),
    value("-watchdog", kept),
    value("-watchdog-action", kept),
    value("-action", kept),
    value("-add-fd", kept),
    value("-fsdev", kept),
    value("-virtfs", kept),
    value("-icount", kept),
    value("-mem-path", kept),
    value("-tpmdev", kept),
    value("-trace", kept),
];

/// The option called `name`, if the importer knows it.
pub(crate) fn lookup(name: &str) -> Option<&'static Opt> {
    OPTIONS.iter().find(|o| o.name == name)
}

/// After the last option: defaults that depend on what was (not) given.
pub(crate) const FINISH: &[fn(&mut State)] = &[interface::finish, os::finish, memory::finish];

#[cfg(test)]
mod tests {
    use super::OPTIONS;

    #[test]
    fn each_option_has_one_line() {
        for (i, o) in OPTIONS.iter().enumerate() {
            assert!(o.name.starts_with('-'), "{}", o.name);
            assert!(
                !OPTIONS[..i].iter().any(|p| p.name == o.name),
                "{} is in the table twice; the second line would never be used",
                o.name
            );
        }
    }
}
