//! Facts about host processes from `/proc`: is a pid still the process we started
//! (pid + start time, never `kill(pid, 0)` alone — a zombie or a reused pid is not our
//! QEMU), and how much CPU time it used.

use std::path::Path;

/// The fields of `/proc/PID/stat` the driver uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// One-letter state: R, S, D, Z, T, ...
    pub state: char,
    /// User + system time in clock ticks.
    pub cpu_ticks: u64,
    /// Start time since boot in clock ticks: with the pid, names the process uniquely.
    pub start_time: u64,
}

/// Read `/proc/PID/stat`; `None` if there is no such process.
pub fn stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parse the text of `/proc/PID/stat` (the command name may hold spaces and parens).
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let after = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // after the comm: state is field 3 of the line, utime 14, stime 15, starttime 22
    let state = fields.first()?.chars().next()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let start_time: u64 = fields.get(19)?.parse().ok()?;
    Some(ProcStat {
        state,
        cpu_ticks: utime + stime,
        start_time,
    })
}

/// True while `pid` is the live (not zombie) process that started at `start_time`.
pub fn is_alive(pid: u32, start_time: u64) -> bool {
    match stat(pid) {
        Some(s) => s.start_time == start_time && s.state != 'Z' && s.state != 'X',
        None => false,
    }
}

/// CPU time of `pid` in nanoseconds.
pub fn cpu_time_ns(pid: u32) -> u64 {
    let ticks = stat(pid).map(|s| s.cpu_ticks).unwrap_or(0);
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as u64;
    ticks.saturating_mul(1_000_000_000) / hz.max(1)
}

/// The executable a pid runs, for error messages.
pub fn exe(pid: u32) -> Option<std::path::PathBuf> {
    std::fs::read_link(Path::new("/proc").join(pid.to_string()).join("exe")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_spaces_in_comm() {
        let line = "1234 (qemu (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 3 0 987654 1000 10 18446744073709551615";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.state, 'S');
        assert_eq!(s.cpu_ticks, 10);
        assert_eq!(s.start_time, 987654);
    }

    #[test]
    fn own_process_is_alive_and_garbage_is_none() {
        let me = std::process::id();
        let s = stat(me).unwrap();
        assert!(is_alive(me, s.start_time));
        assert!(!is_alive(me, s.start_time + 1));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S"), None);
    }
}
