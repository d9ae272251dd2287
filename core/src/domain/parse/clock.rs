//! `<clock offset=..>` (and libvirt 0.7's `sync`) with its `<timer>`s.

use super::util::{
    check_attrs, check_supported, enum_attr, leaf, plain_children, req_attr, string_enum_attr,
    unsupported_element, yes_no,
};
use crate::domain::model::{Clock, ClockOffset, Timer};
use crate::domain::xmltree::Node;
use crate::error::{Error, Result};

pub(super) fn parse_clock(c: &Node, path: &str) -> Result<Clock> {
    check_attrs(c, path, &["offset", "sync"])?;
    let mut clock = Clock {
        offset: parse_offset(c, path)?,
        timers: Vec::new(),
    };
    for child in plain_children(c, path) {
        let (e, p) = child?;
        match e.name.as_str() {
            "timer" => clock.timers.push(parse_timer(e, &p)?),
            _ => return Err(unsupported_element(path, e)),
        }
    }
    Ok(clock)
}

/// `offset`, or `sync` (libvirt 0.7: same values, same meaning); UTC when neither.
fn parse_offset(c: &Node, path: &str) -> Result<ClockOffset> {
    let table = [
        ("utc", ClockOffset::Utc),
        ("localtime", ClockOffset::Localtime),
    ];
    if let Some(o) = c.attr("offset") {
        check_supported(
            c,
            path,
            "offset",
            o,
            &["utc", "localtime"],
            &["timezone", "variable", "absolute"],
        )?;
    }
    let offset = enum_attr(c, path, "offset", &table)?;
    let sync = enum_attr(c, path, "sync", &table)?;
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

fn parse_timer(e: &Node, p: &str) -> Result<Timer> {
    leaf(e, p, &["name", "tickpolicy", "present"])?;
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
    })
}
