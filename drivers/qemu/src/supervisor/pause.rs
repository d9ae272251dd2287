//! Test seam for fault injection: holding a new start at a named point.

use std::io::Write;
use std::time::Duration;

/// The points of a start where `pause_at` can hold the supervisor, in order: after
/// the labels and cgroup (`labelled`), after the fork (`forked`), after the status file
/// names the child (`recorded`), after the exec (`execd`), with QMP connected
/// (`monitor`), with the start recorded as done, before `OK` (`running`).
pub const PAUSE_POINTS: &[&str] = &[
    "labelled", "forked", "recorded", "execd", "monitor", "running",
];

/// Test seam for fault injection: `OXVIRT_TEST_PAUSE_AT=POINT` (or `POINT:MS`) holds
/// the supervisor at that point of a new start ([`PAUSE_POINTS`]; an adoption never
/// pauses) until it is killed (or
/// for MS milliseconds), after appending `POINT PID` to the file named by
/// `OXVIRT_TEST_PAUSE_NOTIFY`, if set. Not meant for production use.
pub(crate) fn pause_at(point: &str) {
    let Ok(want) = std::env::var("OXVIRT_TEST_PAUSE_AT") else {
        return;
    };
    let (name, ms) = match want.split_once(':') {
        Some((n, ms)) => (n, ms.parse::<u64>().ok()),
        None => (want.as_str(), None),
    };
    if name != point {
        return;
    }
    if let Some(path) = std::env::var_os("OXVIRT_TEST_PAUSE_NOTIFY") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{point} {}", std::process::id());
        }
    }
    match ms {
        Some(ms) => std::thread::sleep(Duration::from_millis(ms)),
        None => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
    }
}
