//! The registry: the checks that refuse what parses but cannot be built ([`CHECKS`],
//! run first, like libvirt's `qemu_validate.c` before `qemuBuildCommandLine`), then
//! every stage of the command line in the order `qemuBuildCommandLine` writes them
//! ([`STAGES`]). A stage reads the [`Plan`] and appends its family's options; adding
//! a family is one module under `devices/` (or a platform module) and one line here.

use super::devices::{chardev, controller, disk, graphics, hostdev, input, interface, misc};
use super::plan::Plan;
use super::props::Args;
use super::{clock, cpu, identity, lifecycle, machine, memory, monitor, os, qemu, sandbox};
use oxvirt_core::domain::Domain;
use oxvirt_core::Result;

/// A refusal of what the domain asks for and oxvirt cannot build (yet).
pub(crate) type Check = fn(&Domain) -> Result<()>;

/// In this order, so that the first problem reported stays the same.
pub(crate) const CHECKS: &[Check] = &[
    identity::check,
    memory::check,
    machine::check,
    cpu::check,
    clock::check,
    os::check,
    controller::check_driver,
    hostdev::check,
    graphics::check_audio,
];

/// One step of the command line: reads the plan, appends options.
pub(crate) type Stage = fn(&Plan<'_>, &mut Args) -> Result<()>;

/// libvirt 9's order. A family oxvirt does not build yet (secrets, NUMA, iothreads,
/// SMBIOS, filesystems, smartcards, parallel ports, TPM, watchdog, hostdev, migration,
/// panic, shmem, vsock, ...) gets its line where libvirt's builder for it sits.
pub(crate) const STAGES: &[Stage] = &[
    identity::name,
    monitor::paused,
    machine::machine,
    machine::accel,
    cpu::cpu,
    os::loader,
    memory::memory,
    memory::smp,
    identity::uuid,
    graphics::display,
    monitor::defaults,
    monitor::monitor,
    clock::rtc,
    lifecycle::no_shutdown,
    os::boot,
    controller::build,
    disk::build,
    interface::build,
    chardev::serials,
    chardev::channels,
    chardev::consoles,
    input::build,
    graphics::audio,
    graphics::graphics,
    graphics::video,
    graphics::sound,
    misc::memballoon,
    misc::rngs,
    qemu::args,
    sandbox::sandbox,
    sandbox::msg,
];

/// Run every check in order.
pub(crate) fn check(dom: &Domain) -> Result<()> {
    CHECKS.iter().try_for_each(|check| check(dom))
}

/// Run every stage in order.
pub(crate) fn run(plan: &Plan<'_>, args: &mut Args) -> Result<()> {
    STAGES.iter().try_for_each(|stage| stage(plan, args))
}
