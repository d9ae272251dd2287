//! `<clock>` → `-rtc base=utc|localtime[,driftfix=slew]` (`driftfix` for an `rtc`
//! timer with `tickpolicy='catchup'`).

use super::plan::Plan;
use super::props::Args;
use oxvirt_core::domain::ClockOffset;
use oxvirt_core::Result;

/// `-rtc` (libvirt's `qemuBuildClockCommandLine`).
pub(crate) fn rtc(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    let clock = p.dom.clock.as_ref();
    let mut s = match clock.map(|c| c.offset) {
        Some(ClockOffset::Localtime) => "base=localtime".to_string(),
        _ => "base=utc".to_string(),
    };
    if clock.is_some_and(|c| {
        c.timers
            .iter()
            .any(|t| t.name == "rtc" && t.tickpolicy.as_deref() == Some("catchup"))
    }) {
        s.push_str(",driftfix=slew");
    }
    a.opt("-rtc", s);
    Ok(())
}
