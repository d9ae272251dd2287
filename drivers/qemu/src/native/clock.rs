//! `-rtc base=localtime|utc` → `<clock offset>`; other bases are kept.

use super::state::State;
use super::value::{get, kv};
use oxvirt_core::domain::{Clock, ClockOffset};
use oxvirt_core::Result;

/// `-rtc`.
pub(crate) fn rtc(st: &mut State, _: &str, v: &str) -> Result<bool> {
    match get(&kv(v), "base") {
        Some("localtime") => st.dom.clock = Some(Clock::new(ClockOffset::Localtime)),
        Some("utc") | None => {}
        Some(_) => return Ok(false),
    }
    Ok(true)
}
