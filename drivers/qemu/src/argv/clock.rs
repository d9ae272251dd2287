//! `<clock>` → `-rtc base=..[,clock=vm|host|rt][,driftfix=slew]`, then `-no-hpet` and
//! `-global kvm-pit.lost_tick_policy=..` (libvirt's `qemuBuildClockCommandLine`); the
//! CPU-side timers (`kvmclock`, `hypervclock`, `tsc`) are `-cpu` properties (`cpu.rs`);
//! `offset='timezone'` is `TZ=` in QEMU's environment (`qemu.rs`).
//!
//! `base=`: `utc`/`localtime`, or, for `variable`, `absolute` and an `adjustment`, the
//! start time computed now as libvirt does (UTC, plus the host's local offset when the
//! basis is `localtime`). Every timer setting QEMU cannot apply is refused by [`check`]
//! with libvirt's message where libvirt refuses, and also where libvirt 9.0 silently
//! drops it (a PIT or RTC `present='no'`, an HPET tickpolicy, a TSC `mode`).

use super::plan::Plan;
use super::props::Args;
use oxvirt_core::domain::{Clock, ClockAdjustment, ClockOffset, Domain, Timer, VirtType};
use oxvirt_core::{Error, Result};
use std::time::{SystemTime, UNIX_EPOCH};

fn refuse(msg: String) -> Error {
    Error::unsupported(format!("unsupported configuration: {msg}"))
}

/// What QEMU cannot do with a timer.
pub(crate) fn check(dom: &Domain) -> Result<()> {
    let Some(clock) = &dom.clock else {
        return Ok(());
    };
    clock
        .timers
        .iter()
        .try_for_each(|t| check_timer(t, dom.virt_type))
}

fn check_timer(t: &Timer, virt: VirtType) -> Result<()> {
    let n = t.name.as_str();
    let tick = t.tickpolicy.as_deref();
    match n {
        "platform" => return Err(refuse("unsupported timer type (name) 'platform'".into())),
        "armvtimer" => {
            return Err(refuse(
                "<timer name='armvtimer'> is for aarch64 guests only".into(),
            ))
        }
        "rtc" | "pit" if t.present == Some(false) => {
            return Err(refuse(format!(
                "<timer name='{n}' present='no'>: QEMU's pc and q35 machines always have the {n}; remove the attribute"
            )))
        }
        "rtc" if matches!(tick, Some("merge" | "discard")) => {
            return Err(refuse(format!("unsupported rtc tickpolicy '{}'", tick.unwrap_or_default())))
        }
        "rtc" if t.track.as_deref() == Some("boot") => {
            return Err(refuse("unsupported rtc timer track 'boot'".into()))
        }
        "pit" if tick == Some("merge") => {
            return Err(refuse("unsupported pit tickpolicy 'merge'".into()))
        }
        "hpet" | "kvmclock" | "hypervclock" | "tsc" if tick.is_some() => {
            return Err(refuse(format!(
                "timer {n} doesn't support setting of timer tickpolicy"
            )))
        }
        _ => {}
    }
    if t.track.is_some() && n != "rtc" {
        return Err(refuse(format!(
            "timer {n} doesn't support setting of timer track"
        )));
    }
    if (t.frequency.is_some() || t.mode.is_some()) && n != "tsc" {
        return Err(refuse(format!(
            "timer {n} doesn't support setting of frequency or mode"
        )));
    }
    if n == "tsc" {
        if t.mode.is_some() || t.present.is_some() {
            return Err(refuse(
                "<timer name='tsc'> mode and present are not applied by QEMU; only frequency is (KVM)".into(),
            ));
        }
        if t.frequency.is_some() && virt != VirtType::Kvm {
            return Err(refuse(
                "<timer name='tsc' frequency=..> needs <domain type='kvm'>: TCG has no TSC frequency setting".into(),
            ));
        }
    }
    Ok(())
}

/// `-rtc`, `-no-hpet`, `-global kvm-pit.lost_tick_policy=..`.
pub(crate) fn rtc(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    let clock = p.dom.clock.as_ref();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut s = format!("base={}", base(clock, now, local_offset(now)));
    let timer = |name: &str| clock.and_then(|c| c.timers.iter().find(|t| t.name == name));
    if let Some(rtc) = timer("rtc") {
        match rtc.track.as_deref() {
            Some("guest") => s.push_str(",clock=vm"),
            Some("wall") => s.push_str(",clock=host"),
            Some("realtime") => s.push_str(",clock=rt"),
            _ => {}
        }
        if rtc.tickpolicy.as_deref() == Some("catchup") {
            s.push_str(",driftfix=slew");
        }
    }
    a.opt("-rtc", s);
    // The rest in document order, as libvirt iterates the timers.
    for t in clock.iter().flat_map(|c| &c.timers) {
        match (t.name.as_str(), t.tickpolicy.as_deref()) {
            ("hpet", _) if t.present == Some(false) => a.flag("-no-hpet"),
            // catchup is kvm-pit's default; libvirt writes nothing for it.
            ("pit", Some("delay") | None) => a.opt("-global", "kvm-pit.lost_tick_policy=delay"),
            ("pit", Some("discard")) => a.opt("-global", "kvm-pit.lost_tick_policy=discard"),
            _ => {}
        }
    }
    Ok(())
}

/// The `base=` value at `now` (seconds since the epoch), with the host's local
/// offset from UTC `local` in seconds.
pub(crate) fn base(clock: Option<&Clock>, now: i64, local: i64) -> String {
    let Some(c) = clock else {
        return "utc".into();
    };
    let adj = match c.adjustment {
        Some(ClockAdjustment::Seconds(s)) => s,
        _ => 0,
    };
    let localtime_basis = c.basis.as_deref() == Some("localtime");
    match c.offset {
        ClockOffset::Absolute => timestamp(c.start.unwrap_or(0) as i64),
        ClockOffset::Variable if localtime_basis => timestamp(now + local + adj),
        ClockOffset::Variable => timestamp(now + adj),
        ClockOffset::Utc if adj != 0 => timestamp(now + adj),
        ClockOffset::Localtime if adj != 0 => timestamp(now + local + adj),
        ClockOffset::Utc => "utc".into(),
        ClockOffset::Localtime | ClockOffset::Timezone => "localtime".into(),
    }
}

/// The host's offset from UTC now, in seconds (`tm_gmtoff` of `localtime_r`).
fn local_offset(now: i64) -> i64 {
    let t: libc::time_t = now as libc::time_t;
    // SAFETY: `tm` is a plain C struct that localtime_r fills in; both pointers are valid.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        tm.tm_gmtoff as i64
    }
}

/// `YYYY-MM-DDTHH:MM:SS` for seconds since the epoch (proleptic Gregorian, UTC).
pub(crate) fn timestamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(offset: ClockOffset, adj: Option<ClockAdjustment>, basis: Option<&str>) -> Clock {
        Clock {
            offset,
            adjustment: adj,
            basis: basis.map(str::to_owned),
            timezone: None,
            start: Some(1_234_567_890),
            timers: vec![],
        }
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00");
        assert_eq!(timestamp(1_234_567_890), "2009-02-13T23:31:30");
        assert_eq!(timestamp(951_782_400), "2000-02-29T00:00:00");
    }

    #[test]
    fn base_follows_offset_adjustment_and_basis() {
        let now = 1_000_000_000; // 2001-09-09T01:46:40
        let secs = |s| Some(ClockAdjustment::Seconds(s));
        assert_eq!(base(None, now, 0), "utc");
        let reset = Some(ClockAdjustment::Reset);
        assert_eq!(
            base(Some(&clock(ClockOffset::Utc, reset, None)), now, 0),
            "utc"
        );
        assert_eq!(
            base(Some(&clock(ClockOffset::Localtime, None, None)), now, 0),
            "localtime"
        );
        let var = clock(ClockOffset::Variable, secs(3600), Some("utc"));
        assert_eq!(base(Some(&var), now, 7200), "2001-09-09T02:46:40");
        let var = clock(ClockOffset::Variable, secs(-100), Some("localtime"));
        assert_eq!(base(Some(&var), now, 7200), "2001-09-09T03:45:00");
        let lt = clock(ClockOffset::Localtime, secs(60), None);
        assert_eq!(base(Some(&lt), now, 3600), "2001-09-09T02:47:40");
        let abs = clock(ClockOffset::Absolute, None, None);
        assert_eq!(base(Some(&abs), now, 0), "2009-02-13T23:31:30");
    }
}
