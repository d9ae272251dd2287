//! `<clock offset=..>` with its `<timer>`s (`sync` is written as `offset`).

use super::writer::{yes_no, W};
use crate::domain::model::{ClockOffset, Domain};

pub(super) fn format_clock(w: &mut W, dom: &Domain) {
    let Some(clock) = &dom.clock else {
        return;
    };
    let offset = match clock.offset {
        ClockOffset::Utc => "utc",
        ClockOffset::Localtime => "localtime",
    };
    let attrs = [("offset", Some(offset.to_owned()))];
    w.element("clock", &attrs, clock.timers.is_empty(), |w| {
        for t in &clock.timers {
            w.empty(
                "timer",
                &[
                    ("name", Some(t.name.clone())),
                    ("tickpolicy", t.tickpolicy.clone()),
                    ("present", t.present.map(yes_no)),
                ],
            );
        }
    });
}
