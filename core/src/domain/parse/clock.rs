//! `<clock offset=.. adjustment=.. basis=.. timezone=.. start=..>` (and libvirt 0.7's
//! `sync`) with its `<timer>`s. What QEMU can do with each timer is checked by the
//! argv builder; here the document's own rules (which attribute goes with which offset).

use super::util::{
    bad_value, check_attrs, enum_attr, leaf, num_attr, plain_children, req_attr, string_enum_attr,
    unsupported_element, yes_no,
};
use crate::domain::model::{Clock, ClockAdjustment, ClockOffset, Timer};
use crate::domain::xmltree::Node;
use crate::error::{Error, Result};

const OFFSETS: [(&str, ClockOffset); 5] = [
    ("utc", ClockOffset::Utc),
    ("localtime", ClockOffset::Localtime),
    ("variable", ClockOffset::Variable),
    ("timezone", ClockOffset::Timezone),
    ("absolute", ClockOffset::Absolute),
];

pub(super) fn parse_clock(c: &Node, path: &str) -> Result<Clock> {
    check_attrs(
        c,
        path,
        &["offset", "sync", "adjustment", "basis", "timezone", "start"],
    )?;
    let offset = parse_offset(c, path)?;
    let mut clock = Clock {
        offset,
        adjustment: parse_adjustment(c, path, offset)?,
        basis: None,
        timezone: None,
        start: None,
        timers: Vec::new(),
    };
    let only = |attr: &str, wanted: ClockOffset| -> Result<()> {
        if c.attr(attr).is_some() && offset != wanted {
            return Err(Error::xml(format!(
                "XML error: attribute '{attr}' of <clock> needs offset='{}' (at {path}, line {})",
                wanted.as_str(),
                c.line
            )));
        }
        Ok(())
    };
    only("basis", ClockOffset::Variable)?;
    only("timezone", ClockOffset::Timezone)?;
    only("start", ClockOffset::Absolute)?;
    match offset {
        ClockOffset::Variable => {
            clock.basis = Some(
                string_enum_attr(c, path, "basis", &["utc", "localtime"])?
                    .unwrap_or_else(|| "utc".into()),
            );
            clock.adjustment.get_or_insert(ClockAdjustment::Seconds(0));
        }
        ClockOffset::Timezone => clock.timezone = Some(req_attr(c, path, "timezone")?.to_owned()),
        ClockOffset::Absolute => {
            req_attr(c, path, "start")?;
            clock.start = num_attr(c, path, "start")?;
        }
        _ => {}
    }
    for child in plain_children(c, path) {
        let (e, p) = child?;
        match e.name.as_str() {
            "timer" => {
                let t = parse_timer(e, &p)?;
                if clock.timers.iter().any(|x| x.name == t.name) {
                    return Err(Error::xml(format!(
                        "XML error: <timer name='{}'> is given more than once in <clock> (at {p}, line {})",
                        t.name, e.line
                    )));
                }
                clock.timers.push(t);
            }
            _ => return Err(unsupported_element(path, e)),
        }
    }
    Ok(clock)
}

/// `offset`, or `sync` (libvirt 0.7: same values, same meaning); UTC when neither.
fn parse_offset(c: &Node, path: &str) -> Result<ClockOffset> {
    let offset = enum_attr(c, path, "offset", &OFFSETS)?;
    let sync = enum_attr(c, path, "sync", &OFFSETS[..2])?;
    if let (Some(o), Some(s)) = (offset, sync) {
        if o != s {
            return Err(Error::xml(format!(
                "XML error: <clock> has both offset='{}' and sync='{}' (at {path}, line {}): use offset alone",
                c.attr("offset").unwrap_or_default(),
                c.attr("sync").unwrap_or_default(),
                c.line
            )));
        }
    }
    Ok(offset.or(sync).unwrap_or(ClockOffset::Utc))
}

/// `adjustment`: `reset` (utc/localtime) or signed seconds (utc, localtime, variable).
fn parse_adjustment(c: &Node, path: &str, offset: ClockOffset) -> Result<Option<ClockAdjustment>> {
    let Some(v) = c.attr("adjustment") else {
        return Ok(None);
    };
    let allowed = matches!(
        offset,
        ClockOffset::Utc | ClockOffset::Localtime | ClockOffset::Variable
    );
    if !allowed {
        return Err(Error::xml(format!(
            "XML error: attribute 'adjustment' of <clock> needs offset='utc', 'localtime' or 'variable' (at {path}, line {})",
            c.line
        )));
    }
    if v == "reset" && offset != ClockOffset::Variable {
        return Ok(Some(ClockAdjustment::Reset));
    }
    v.trim()
        .parse::<i64>()
        .map(|s| Some(ClockAdjustment::Seconds(s)))
        .map_err(|_| bad_value(c, path, "adjustment", v, "'reset' or a number of seconds"))
}

fn parse_timer(e: &Node, p: &str) -> Result<Timer> {
    leaf(
        e,
        p,
        &[
            "name",
            "tickpolicy",
            "present",
            "track",
            "frequency",
            "mode",
        ],
    )?;
    req_attr(e, p, "name")?;
    Ok(Timer {
        name: string_enum_attr(
            e,
            p,
            "name",
            &[
                "platform",
                "pit",
                "rtc",
                "hpet",
                "tsc",
                "kvmclock",
                "hypervclock",
                "armvtimer",
            ],
        )?
        .unwrap_or_default(),
        tickpolicy: string_enum_attr(
            e,
            p,
            "tickpolicy",
            &["delay", "catchup", "merge", "discard"],
        )?,
        present: yes_no(e, p, "present")?,
        track: string_enum_attr(e, p, "track", &["boot", "guest", "wall", "realtime"])?,
        frequency: num_attr(e, p, "frequency")?,
        mode: string_enum_attr(
            e,
            p,
            "mode",
            &["auto", "native", "emulate", "paravirt", "smpsafe"],
        )?,
    })
}
