//! `<clock>`: the guest's time base and its timers.

/// `<clock offset=..>`; the old `sync` attribute of libvirt 0.7 means the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub offset: ClockOffset,
    pub timers: Vec<Timer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockOffset {
    Utc,
    Localtime,
}

/// `<timer name=.. tickpolicy=.. present=..>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    pub name: String,
    pub tickpolicy: Option<String>,
    pub present: Option<bool>,
}
