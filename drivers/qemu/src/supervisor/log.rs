//! The domain log `log/qemu/NAME.log` as the supervisor writes it: timestamped lines in
//! libvirt's style, the start banner, and the tail shown when a start fails.

use std::io::Write;
use std::path::Path;

/// Append `msg` with a timestamp. The log is created 0600 (it is the managing uid's).
pub(crate) fn log_line(log: &Path, msg: &str) {
    if let Ok(mut f) = open_append(log) {
        let _ = writeln!(f, "{}: {msg}", timestamp(std::time::SystemTime::now()));
    }
}

/// The log opened for appending (created 0600 if missing).
pub(crate) fn open_append(log: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(log)
}

/// The banner, QEMU's command line and the taint lines, before QEMU starts.
pub(crate) fn log_start(log: &Path, command_line: &str, id: u32, taints: &[String]) {
    let Ok(mut f) = open_append(log) else { return };
    let _ = writeln!(
        f,
        "{}: starting up oxvirt {}",
        timestamp(std::time::SystemTime::now()),
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(f, "{command_line}");
    for t in taints {
        let _ = writeln!(f, "Domain id={id} is tainted: {t}");
    }
}

/// `2026-11-23 18:49:00.376+0000`, as libvirt stamps its domain logs (UTC).
pub(crate) fn timestamp(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}+0000",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// The last lines QEMU (or the supervisor) wrote to the log since `from`, without the
/// start banner and the argv line.
pub(crate) fn log_tail(log: &Path, from: u64, command_line: &str) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    let start = (from as usize).min(text.len());
    let tail = String::from_utf8_lossy(&text[start..]).trim().to_string();
    let lines: Vec<&str> = tail
        .lines()
        .filter(|l| *l != command_line && !l.contains(": starting up oxvirt "))
        .rev()
        .take(5)
        .collect();
    lines.into_iter().rev().collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_libvirt_style_utc() {
        let t = std::time::UNIX_EPOCH + Duration::from_millis(1_795_459_740_322);
        assert_eq!(timestamp(t), "2026-11-23 18:49:00.322+0000");
        assert_eq!(
            timestamp(std::time::UNIX_EPOCH),
            "1970-01-01 00:00:00.000+0000"
        );
        let leap = std::time::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(timestamp(leap), "2000-02-29 00:00:00.000+0000");
    }

    #[test]
    fn the_tail_skips_the_banner_and_the_command_line() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("x.log");
        log_start(&log, "/usr/bin/qemu -name x", 3, &["custom-argv".into()]);
        log_line(&log, "boom");
        let tail = log_tail(&log, 0, "/usr/bin/qemu -name x");
        assert!(tail.ends_with(": boom"), "{tail}");
        assert!(
            tail.contains("Domain id=3 is tainted: custom-argv"),
            "{tail}"
        );
        assert!(!tail.contains("starting up"), "{tail}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
