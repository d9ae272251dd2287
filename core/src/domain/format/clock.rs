//! `<clock offset=..>` with its `<timer>`s (`sync` is written as `offset`).

use super::writer::{yes_no, W};
use crate::domain::model::{ClockAdjustment, Domain};

pub(super) fn format_clock(w: &mut W, dom: &Domain) {
    let Some(clock) = &dom.clock else {
        return;
    };
    let adjustment = clock.adjustment.map(|a| match a {
        ClockAdjustment::Reset => "reset".to_string(),
        ClockAdjustment::Seconds(s) => s.to_string(),
    });
    let attrs = [
        ("offset", Some(clock.offset.as_str().to_owned())),
        ("adjustment", adjustment),
        ("basis", clock.basis.clone()),
        ("timezone", clock.timezone.clone()),
        ("start", clock.start.map(|s| s.to_string())),
    ];
    w.element("clock", &attrs, clock.timers.is_empty(), |w| {
        for t in &clock.timers {
            w.empty(
                "timer",
                &[
                    ("name", Some(t.name.clone())),
                    ("tickpolicy", t.tickpolicy.clone()),
                    ("track", t.track.clone()),
                    ("frequency", t.frequency.map(|f| f.to_string())),
                    ("mode", t.mode.clone()),
                    ("present", t.present.map(yes_no)),
                ],
            );
        }
    });
}
