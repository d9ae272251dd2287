//! The qemu program (`0x20008087`): DOMAIN_MONITOR_COMMAND (`virsh
//! qemu-monitor-command`), QMP JSON or HMP passed to the driver.

use super::call::{Call, Reg};
use super::reply::{domain, ret, CallResult};
use crate::protocol::procs as p;
use crate::xdr::Decoder;

/// `VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP`.
const HMP: u32 = 1;

pub(super) const HANDLERS: &[Reg] = &[Reg::qemu(
    p::QEMU_DOMAIN_MONITOR_COMMAND,
    "DOMAIN_MONITOR_COMMAND",
    monitor_command,
)];

fn monitor_command(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let k = domain(d)?;
    let cmd = d.string()?;
    let flags = call.flags(d.u32()?)?;
    let out = call.conn.monitor_command(&k, &cmd, flags & HMP != 0)?;
    ret(|e| {
        e.string(&out);
    })
}
