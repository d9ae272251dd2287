//! Facts about host processes from `/proc`: is a pid still the process we started
//! (pid + start time, never `kill(pid, 0)` alone — a zombie or a reused pid is not our
//! QEMU), and how much CPU time it used; and [`Pidfd`], a handle on one such process
//! that signals it and no other, and tells when it has exited.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

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

/// A pidfd (`pidfd_open(2)`) on one process: signals sent through it reach that process
/// even if its pid is reused, and it turns readable when the process exits (a zombie
/// counts as exited).
#[derive(Debug)]
pub struct Pidfd {
    fd: OwnedFd,
    pub pid: u32,
    pub start_time: u64,
}

impl Pidfd {
    /// A pidfd on `pid` if it is still the process that started at `start_time`. The
    /// start time is checked after the pidfd is open, so the handle can never name a
    /// later process that reuses the pid. `None` when that process is gone.
    pub fn open(pid: u32, start_time: u64) -> Option<Pidfd> {
        let fd = pidfd_open(pid).ok()?;
        let p = Pidfd {
            fd,
            pid,
            start_time,
        };
        (is_alive(pid, start_time) && !p.exited()).then_some(p)
    }

    /// A pidfd on a child this process has just forked (not reaped yet, so its pid
    /// cannot have been reused); its start time is read from `/proc`.
    pub fn open_child(pid: u32) -> std::io::Result<Pidfd> {
        let fd = pidfd_open(pid)?;
        let start_time = stat(pid)
            .map(|s| s.start_time)
            .ok_or_else(|| std::io::Error::from_raw_os_error(libc::ESRCH))?;
        Ok(Pidfd {
            fd,
            pid,
            start_time,
        })
    }

    /// Send `signal` to the process (`pidfd_send_signal(2)`); an exited process is not
    /// an error.
    pub fn signal(&self, signal: libc::c_int) -> std::io::Result<()> {
        // SAFETY: pidfd_send_signal with a pidfd we own, a signal number and no siginfo.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        match rc {
            0 => Ok(()),
            _ => match std::io::Error::last_os_error() {
                e if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
                e => Err(e),
            },
        }
    }

    /// Whether the process has exited, waiting up to `timeout` for it.
    pub fn wait_exit(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().min(i32::MAX as u128) as libc::c_int;
            // SAFETY: poll on one pollfd that lives on this stack frame.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc > 0 {
                return true;
            }
            let interrupted =
                rc < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR);
            if !interrupted && (rc == 0 || left.is_zero()) {
                return false;
            }
        }
    }

    /// Whether the process has exited, without waiting.
    pub fn exited(&self) -> bool {
        self.wait_exit(Duration::ZERO)
    }

    /// SIGKILL the process and wait up to `timeout` until it is gone.
    pub fn kill(&self, timeout: Duration) -> bool {
        let _ = self.signal(libc::SIGKILL);
        self.wait_exit(timeout)
    }
}

impl AsFd for Pidfd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Pidfd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

fn pidfd_open(pid: u32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open with a pid and no flags; it returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// Kill the process `pid` if it is still the one that started at `start_time`, and wait
/// up to `timeout` for it to be gone. True when no such process is left.
pub fn kill_verified(pid: u32, start_time: u64, timeout: Duration) -> bool {
    match Pidfd::open(pid, start_time) {
        Some(p) => p.kill(timeout),
        None => true,
    }
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

    #[test]
    fn a_pidfd_names_one_process_and_sees_it_exit() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep (coreutils)");
        let pid = child.id();
        let st = stat(pid).unwrap().start_time;
        assert!(Pidfd::open(pid, st + 1).is_none(), "wrong start time");
        let p = Pidfd::open(pid, st).unwrap();
        assert!(!p.exited());
        assert!(
            p.kill(Duration::from_secs(5)),
            "SIGKILL seen through the pidfd"
        );
        // A zombie (not reaped yet) is gone for us.
        assert!(Pidfd::open(pid, st).is_none());
        assert!(kill_verified(pid, st, Duration::from_secs(1)));
        let _ = child.wait();
        assert!(
            p.signal(libc::SIGTERM).is_ok(),
            "a reaped process is no error"
        );
    }
}
