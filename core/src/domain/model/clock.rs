//! `<clock>`: the guest's time base and its timers.

/// `<clock offset=.. adjustment=.. basis=.. timezone=.. start=..>`; the old `sync`
/// attribute of libvirt 0.7 means the same as `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub offset: ClockOffset,
    /// `adjustment='reset'` or seconds (utc, localtime, variable).
    pub adjustment: Option<ClockAdjustment>,
    /// `basis='utc|localtime'` (variable only).
    pub basis: Option<String>,
    /// `timezone=..` (offset='timezone').
    pub timezone: Option<String>,
    /// `start=..` seconds since the epoch (offset='absolute').
    pub start: Option<u64>,
    pub timers: Vec<Timer>,
}

impl Clock {
    /// A clock with `offset` and nothing else.
    pub fn new(offset: ClockOffset) -> Clock {
        Clock {
            offset,
            adjustment: None,
            basis: None,
            timezone: None,
            start: None,
            timers: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockOffset {
    Utc,
    Localtime,
    Variable,
    Timezone,
    Absolute,
}

impl ClockOffset {
    pub fn as_str(self) -> &'static str {
        match self {
            ClockOffset::Utc => "utc",
            ClockOffset::Localtime => "localtime",
            ClockOffset::Variable => "variable",
            ClockOffset::Timezone => "timezone",
            ClockOffset::Absolute => "absolute",
        }
    }
}

/// `<clock adjustment=..>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockAdjustment {
    Reset,
    Seconds(i64),
}

/// `<timer name=.. tickpolicy=.. present=.. track=.. frequency=.. mode=..>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timer {
    pub name: String,
    pub tickpolicy: Option<String>,
    pub present: Option<bool>,
    /// `track='boot|guest|wall|realtime'` (rtc, platform).
    pub track: Option<String>,
    /// `frequency=` Hz (tsc).
    pub frequency: Option<u64>,
    /// `mode='auto|native|emulate|paravirt|smpsafe'` (tsc).
    pub mode: Option<String>,
}
