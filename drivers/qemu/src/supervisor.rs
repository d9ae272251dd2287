//! The per-VM supervisor: the process that owns one QEMU for its whole life.
//!
//! The driver starts it (binary `oxvirt-supervisor`) with a [`LaunchSpec`] on stdin and
//! waits for one line on its stdout: `OK` once QEMU runs, or `ERR <message>`. The
//! supervisor then detaches (new session) and outlives the process that started it. It
//! is QEMU's parent, so QEMU is reaped the moment it exits (this matters where PID 1
//! reaps orphans late); it holds the QMP connection, turns events into state changes
//! and lifecycle actions (`on_poweroff`, `on_reboot`, `on_crash`), answers control
//! requests ([`crate::control`]), is the only writer of the status file, and cleans up
//! when QEMU exits. With `adopt` set it takes over a QEMU whose supervisor died.

use crate::control::{LaunchSpec, Reply, Request};
use crate::process;
use crate::qmp::{Qmp, QmpEvent};
use crate::status::{write_atomic, Status};
use oxvirt_core::driver::{DomainState, StateReason};
use oxvirt_core::{Error, Result};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};

/// How long QEMU gets to open its monitor socket.
const MONITOR_TIMEOUT: Duration = Duration::from_secs(30);

/// The QEMU process, as child or adopted.
enum Qemu {
    Child(tokio::process::Child),
    Adopted { pid: u32, start_time: u64 },
}

impl Qemu {
    fn pid(&self) -> u32 {
        match self {
            Qemu::Child(c) => c.id().unwrap_or(0),
            Qemu::Adopted { pid, .. } => *pid,
        }
    }

    /// Wait until the process has exited.
    async fn wait(&mut self) {
        match self {
            Qemu::Child(c) => {
                let _ = c.wait().await;
            }
            Qemu::Adopted { pid, start_time } => {
                while process::is_alive(*pid, *start_time) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = self.pid();
        if pid > 0 {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig);
        }
    }
}

/// Everything the event loop tracks.
struct Supervisor {
    spec: LaunchSpec,
    status: Status,
    qemu: Qemu,
    /// Why QEMU is going away, once known.
    stop_reason: Option<StateReason>,
    /// STOP / RESUME events still to come from our own `stop` / `cont` (or from
    /// `-no-shutdown` pausing a guest that powered off): they change no reason.
    expected_stops: u32,
    expected_resumes: u32,
}

/// Entry point of the `oxvirt-supervisor` binary.
pub fn main() -> i32 {
    let mut input = String::new();
    if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut input) {
        println!("ERR cannot read the launch spec: {e}");
        return 1;
    }
    let spec: LaunchSpec = match serde_json::from_str(&input) {
        Ok(s) => s,
        Err(e) => {
            println!("ERR bad launch spec: {e}");
            return 1;
        }
    };
    if let Some(fd) = spec.lock_fd {
        // Keep the lock out of QEMU: close it on exec, and close it once started.
        let _ = nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
    }
    let _ = nix::unistd::setsid();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            println!("ERR cannot start the event loop: {e}");
            return 1;
        }
    };
    rt.block_on(run(spec))
}

fn log_line(log: &Path, msg: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = writeln!(f, "{}: {msg}", timestamp(std::time::SystemTime::now()));
    }
}

/// `2026-11-23 18:49:00.376+0000`, as libvirt stamps its domain logs (UTC).
fn timestamp(t: std::time::SystemTime) -> String {
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

/// Tell the waiting driver how the start went, then stop talking on stdout.
fn report(line: &str) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    // Point fd 1 at /dev/null: the driver stops reading after this line.
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 1);
    }
}

/// The last lines QEMU (or the supervisor) wrote to the log since `from`, without the
/// start banner and the argv line.
fn log_tail(log: &Path, from: u64, command_line: &str) -> String {
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

async fn run(spec: LaunchSpec) -> i32 {
    let log_start = std::fs::metadata(&spec.log).map(|m| m.len()).unwrap_or(0);
    let lock_fd = spec.lock_fd;
    let release_lock = || {
        if let Some(fd) = lock_fd {
            let _ = nix::unistd::close(fd);
        }
    };
    match start(spec).await {
        Ok((sup, qmp, listener)) => {
            release_lock();
            report("OK");
            sup.serve(qmp, listener).await;
            0
        }
        Err((spec, e)) => {
            let tail = log_tail(&spec.log, log_start, &spec.command_line);
            let msg = if tail.is_empty() {
                e.message.clone()
            } else {
                format!("{}: {}", e.message, tail.replace('\n', " | "))
            };
            log_line(&spec.log, &format!("start failed: {msg}"));
            if let Err(e) = crate::security::recover(&spec.journal) {
                log_line(&spec.log, &format!("restoring labels failed: {e}"));
            }
            cleanup_files(&spec);
            release_lock();
            report(&format!("ERR {msg}"));
            1
        }
    }
}

/// Remove what a running VM leaves on disk (status file, runtime and private dirs).
fn cleanup_files(spec: &LaunchSpec) {
    let _ = std::fs::remove_file(&spec.status);
    let _ = std::fs::remove_dir_all(&spec.runtime_dir);
    let _ = std::fs::remove_dir_all(&spec.domain_dir);
}

type Started = (Supervisor, Qmp, UnixListener);

/// Test seam: `OXVIRT_TEST_STALL_AFTER_LABELS_MS` holds a start after the resources are
/// labelled and before QEMU runs, so a test can kill everything at the worst moment.
fn test_stall() {
    if let Some(ms) = std::env::var("OXVIRT_TEST_STALL_AFTER_LABELS_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

async fn start(spec: LaunchSpec) -> std::result::Result<Started, (Box<LaunchSpec>, Error)> {
    let fail = |spec: LaunchSpec, e: Error| Err((Box::new(spec), e));
    for d in [&spec.runtime_dir, &spec.domain_dir] {
        if let Err(e) = std::fs::create_dir_all(d) {
            return fail(
                spec.clone(),
                Error::system(format!("cannot create '{}'", d.display()), e),
            );
        }
    }
    let mut spec = spec;
    let mut qemu = match spec.adopt {
        Some((pid, start_time)) => {
            log_line(&spec.log, &format!("reconnecting to QEMU pid {pid}"));
            if let Err(e) = crate::security::reserve(&spec.journal) {
                log_line(
                    &spec.log,
                    &format!("cannot reserve the security labels: {e}"),
                );
            }
            Qemu::Adopted { pid, start_time }
        }
        None => {
            let prepared = match crate::security::label_and_confine(&spec) {
                Ok((p, live_xml)) => {
                    spec.domain_xml = live_xml;
                    test_stall();
                    p
                }
                Err(e) => return fail(spec, e),
            };
            match spawn_qemu(&spec, prepared) {
                Ok(c) => Qemu::Child(c),
                Err(e) => return fail(spec, e),
            }
        }
    };
    let pid = qemu.pid();
    let start_time = process::stat(pid).map(|s| s.start_time).unwrap_or(0);
    let listener = {
        let _ = std::fs::remove_file(&spec.control);
        match UnixListener::bind(&spec.control) {
            Ok(l) => l,
            Err(e) => {
                qemu.signal(nix::sys::signal::Signal::SIGKILL);
                qemu.wait().await;
                return fail(
                    spec.clone(),
                    Error::system(format!("cannot listen on '{}'", spec.control.display()), e),
                );
            }
        }
    };
    let mut status = Status {
        id: spec.id,
        state: DomainState::Paused,
        reason: StateReason::StartingUp,
        pid,
        start_time,
        supervisor_pid: std::process::id(),
        monitor: spec.monitor.clone(),
        control: spec.control.clone(),
        persistent: spec.persistent,
        domain_xml: spec.domain_xml.clone(),
    };
    if let Some(old) = spec
        .adopt
        .and_then(|_| Status::read(&spec.status).ok().flatten())
    {
        status.state = old.state;
        status.reason = old.reason;
    }
    // Journal the process before talking to it: a crash from here on is recoverable.
    if let Err(e) = status.write(&spec.status) {
        qemu.signal(nix::sys::signal::Signal::SIGKILL);
        qemu.wait().await;
        return fail(spec, e);
    }
    let connected = tokio::select! {
        q = Qmp::connect_retry(&spec.monitor, MONITOR_TIMEOUT) => q,
        _ = qemu.wait() => Err(Error::operation_failed("QEMU exited before its monitor came up")),
    };
    let mut qmp = match connected {
        Ok(q) => q,
        Err(e) => {
            let exited = match &mut qemu {
                Qemu::Child(c) => matches!(c.try_wait(), Ok(Some(_))),
                Qemu::Adopted { pid, start_time } => !process::is_alive(*pid, *start_time),
            };
            let e = if exited {
                Error::operation_failed("QEMU exited while starting up")
            } else {
                e
            };
            qemu.signal(nix::sys::signal::Signal::SIGKILL);
            qemu.wait().await;
            return fail(spec, e);
        }
    };
    if spec.adopt.is_none() {
        let prepared = match prepare_graphics(&mut qmp, &status.domain_xml).await {
            Ok(xml) => xml,
            Err(e) => {
                qemu.signal(nix::sys::signal::Signal::SIGKILL);
                qemu.wait().await;
                return fail(spec, e);
            }
        };
        status.domain_xml = prepared;
        if let Err(e) = qmp.execute("cont", None).await {
            qemu.signal(nix::sys::signal::Signal::SIGKILL);
            qemu.wait().await;
            return fail(spec, e);
        }
        status.state = DomainState::Running;
        status.reason = StateReason::Booted;
    } else if let Ok(st) = qmp.execute("query-status", None).await {
        let running = st.get("running").and_then(Value::as_bool).unwrap_or(false);
        if running && status.state != DomainState::Running {
            status.state = DomainState::Running;
            status.reason = StateReason::Unknown;
        } else if !running && status.state == DomainState::Running {
            status.state = DomainState::Paused;
            status.reason = StateReason::Unknown;
        }
    }
    if let Err(e) = status.write(&spec.status) {
        qemu.signal(nix::sys::signal::Signal::SIGKILL);
        qemu.wait().await;
        return fail(spec, e);
    }
    let sup = Supervisor {
        spec,
        status,
        qemu,
        stop_reason: None,
        expected_stops: 0,
        expected_resumes: 0,
    };
    Ok((sup, qmp, listener))
}

/// Before the vCPUs run: give VNC its password (QEMU's command line only says
/// `password=on`) and read back the port QEMU picked for an automatic one. Returns the
/// live XML with the real port.
async fn prepare_graphics(qmp: &mut Qmp, live_xml: &str) -> Result<String> {
    let mut dom = oxvirt_core::domain::parse_domain_xml(live_xml)?;
    let Some(g) = dom.devices.graphics.first_mut() else {
        return Ok(live_xml.to_string());
    };
    if g.graphics_type != "vnc" {
        return Ok(live_xml.to_string());
    }
    if let Some(pw) = &g.passwd {
        qmp.execute(
            "set_password",
            Some(serde_json::json!({ "protocol": "vnc", "password": pw })),
        )
        .await?;
    }
    if g.autoport == Some(true) || matches!(g.port, None | Some(-1)) {
        let vnc = qmp.execute("query-vnc", None).await?;
        if let Some(port) = vnc
            .get("service")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<i32>().ok())
        {
            g.port = Some(port);
            g.autoport = Some(true);
        }
    }
    Ok(oxvirt_core::domain::format_domain_xml(
        &dom,
        oxvirt_core::domain::FormatOptions { live: true },
    ))
}

fn spawn_qemu(
    spec: &LaunchSpec,
    confinement: crate::confine::Prepared,
) -> Result<tokio::process::Child> {
    let open_log = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .map_err(|e| Error::system(format!("cannot open log file '{}'", spec.log.display()), e))
    };
    let mut log = open_log()?;
    let _ = writeln!(
        log,
        "{}: starting up oxvirt {}",
        timestamp(std::time::SystemTime::now()),
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(log, "{}", spec.command_line);
    for t in &spec.taints {
        let _ = writeln!(log, "Domain id={} is tainted: {t}", spec.id);
    }
    let _ = std::fs::remove_file(&spec.monitor);
    let mut cmd = tokio::process::Command::new(&spec.binary);
    cmd.args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .stdout(open_log()?)
        .stderr(open_log()?)
        .kill_on_drop(false);
    // SAFETY: the hook only makes raw system calls on data prepared before the fork
    // (see `confine`), as a pre_exec hook must.
    unsafe {
        cmd.pre_exec(move || confinement.apply_in_child());
    }
    cmd.spawn().map_err(|e| {
        Error::operation_failed(format!(
            "cannot execute QEMU binary '{}': {e}",
            spec.binary.display()
        ))
    })
}

impl Supervisor {
    async fn serve(mut self, mut qmp: Qmp, listener: UnixListener) {
        let mut monitor_open = true;
        let mut pending_destroy: Option<OwnedWriteHalf> = None;
        loop {
            tokio::select! {
                ev = qmp.next_event(), if monitor_open => match ev {
                    Some(ev) => self.on_event(&mut qmp, ev).await,
                    None => monitor_open = false,
                },
                _ = self.qemu.wait() => break,
                conn = listener.accept() => {
                    if let Ok((stream, _)) = conn {
                        if let Some(destroying) = self.on_request(&mut qmp, stream).await {
                            pending_destroy = Some(destroying);
                            break;
                        }
                    }
                }
            }
        }
        self.finish(pending_destroy).await;
    }

    fn set_state(&mut self, state: DomainState, reason: StateReason) {
        if self.status.state == state && self.status.reason == reason {
            return;
        }
        self.status.state = state;
        self.status.reason = reason;
        if let Err(e) = self.status.write(&self.spec.status) {
            log_line(&self.spec.log, &format!("cannot update status: {e}"));
        }
    }

    async fn on_event(&mut self, qmp: &mut Qmp, ev: QmpEvent) {
        log_line(&self.spec.log, &format!("event {} {}", ev.event, ev.data));
        match ev.event.as_str() {
            "SHUTDOWN" => {
                let guest = ev
                    .data
                    .get("guest")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if self.stop_reason.is_some() && !guest {
                    return; // our own quit or signal
                }
                self.lifecycle(qmp, &self.spec.on_poweroff.clone(), StateReason::Shutdown)
                    .await;
            }
            "RESET" => {
                let guest = ev
                    .data
                    .get("guest")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if guest && self.spec.on_reboot == "destroy" {
                    self.lifecycle(qmp, "destroy", StateReason::Shutdown).await;
                }
            }
            "GUEST_PANICKED" => {
                self.lifecycle(qmp, &self.spec.on_crash.clone(), StateReason::Crashed)
                    .await;
            }
            "STOP" if self.expected_stops > 0 => self.expected_stops -= 1,
            "RESUME" if self.expected_resumes > 0 => self.expected_resumes -= 1,
            "STOP" if self.status.state == DomainState::Running && self.stop_reason.is_none() => {
                self.set_state(DomainState::Paused, StateReason::Unknown);
            }
            "RESUME" if self.status.state == DomainState::Paused && self.stop_reason.is_none() => {
                self.set_state(DomainState::Running, StateReason::Unpaused);
            }
            _ => {}
        }
    }

    /// Apply an `on_*` action after the guest powered off or crashed.
    async fn lifecycle(&mut self, qmp: &mut Qmp, action: &str, reason: StateReason) {
        match action {
            "restart" | "rename-restart" | "coredump-restart" => {
                // -no-shutdown paused the guest (one STOP); our cont resumes it.
                self.expected_stops += u32::from(reason == StateReason::Shutdown);
                self.expected_resumes += 1;
                let _ = qmp.execute("system_reset", None).await;
                let _ = qmp.execute("cont", None).await;
                self.set_state(DomainState::Running, StateReason::Booted);
            }
            "preserve" => {
                self.expected_stops += u32::from(reason == StateReason::Shutdown);
                let state = if reason == StateReason::Crashed {
                    DomainState::Crashed
                } else {
                    DomainState::Paused
                };
                self.set_state(state, StateReason::PausedShuttingDown);
            }
            _ => {
                self.stop_reason = Some(reason);
                if qmp.execute("quit", None).await.is_err() {
                    self.qemu.signal(nix::sys::signal::Signal::SIGTERM);
                }
            }
        }
    }

    /// Handle one control connection; returns the reply channel when the request was
    /// destroy, whose reply is sent after cleanup.
    async fn on_request(&mut self, qmp: &mut Qmp, stream: UnixStream) -> Option<OwnedWriteHalf> {
        let (read, mut write) = stream.into_split();
        let mut line = String::new();
        let read_ok = tokio::time::timeout(
            Duration::from_secs(10),
            BufReader::new(read).take(1 << 20).read_line(&mut line),
        )
        .await;
        let req: Request = match read_ok {
            Ok(Ok(n)) if n > 0 => match serde_json::from_str(&line) {
                Ok(r) => r,
                Err(e) => {
                    let reply =
                        Reply::err(&Error::invalid_arg(format!("bad control request: {e}")));
                    send_reply(&mut write, &reply).await;
                    return None;
                }
            },
            _ => return None,
        };
        let reply = match req {
            Request::Destroy => {
                self.stop_reason = Some(StateReason::Destroyed);
                return Some(write);
            }
            Request::Suspend if self.status.state == DomainState::Paused => Reply::ok(None),
            Request::Resume if self.status.state != DomainState::Paused => Reply::err(
                &Error::operation_invalid("Requested operation is not valid: domain is not paused"),
            ),
            Request::Suspend => {
                self.expected_stops += 1;
                match qmp.execute("stop", None).await {
                    Ok(_) => {
                        self.set_state(DomainState::Paused, StateReason::User);
                        Reply::ok(None)
                    }
                    Err(e) => {
                        self.expected_stops -= 1;
                        Reply::err(&e)
                    }
                }
            }
            Request::Resume => {
                self.expected_resumes += 1;
                match qmp.execute("cont", None).await {
                    Ok(_) => {
                        self.set_state(DomainState::Running, StateReason::Unpaused);
                        Reply::ok(None)
                    }
                    Err(e) => {
                        self.expected_resumes -= 1;
                        Reply::err(&e)
                    }
                }
            }
            Request::Powerdown => match qmp.execute("system_powerdown", None).await {
                Ok(_) => Reply::ok(None),
                Err(e) => Reply::err(&e),
            },
            Request::SetPersistent { persistent } => {
                self.spec.persistent = persistent;
                self.status.persistent = persistent;
                match self.status.write(&self.spec.status) {
                    Ok(()) => Reply::ok(None),
                    Err(e) => Reply::err(&e),
                }
            }
            Request::Monitor { command } => match serde_json::from_str::<Value>(&command) {
                Ok(cmd) => match qmp.execute_raw(cmd).await {
                    Ok(v) => Reply::ok(Some(v)),
                    Err(e) => Reply::err(&e),
                },
                Err(e) => Reply::err(&Error::invalid_arg(format!(
                    "the monitor command is not valid JSON: {e}"
                ))),
            },
        };
        send_reply(&mut write, &reply).await;
        None
    }

    /// QEMU is exiting or must exit: make sure it is gone, clean up, record why.
    async fn finish(mut self, destroy_reply: Option<OwnedWriteHalf>) {
        if self.stop_reason == Some(StateReason::Destroyed) {
            self.qemu.signal(nix::sys::signal::Signal::SIGTERM);
            let grace = Duration::from_secs(self.spec.destroy_grace_seconds);
            if tokio::time::timeout(grace, self.qemu.wait()).await.is_err() {
                log_line(&self.spec.log, "QEMU ignored SIGTERM; sending SIGKILL");
                self.qemu.signal(nix::sys::signal::Signal::SIGKILL);
            }
        }
        self.qemu.wait().await;
        let reason = self.stop_reason.unwrap_or(StateReason::Crashed);
        log_line(
            &self.spec.log,
            &format!("shutting down, reason={}", reason.as_status_str()),
        );
        if self.spec.persistent {
            let _ = write_atomic(&self.spec.shutoff_reason, reason.as_status_str().as_bytes());
        }
        if let Err(e) = crate::security::recover(&self.spec.journal) {
            log_line(&self.spec.log, &format!("restoring labels failed: {e}"));
        }
        cleanup_files(&self.spec);
        if let Some(mut w) = destroy_reply {
            send_reply(&mut w, &Reply::ok(None)).await;
        }
    }
}

async fn send_reply(write: &mut OwnedWriteHalf, reply: &Reply) {
    if let Ok(mut text) = serde_json::to_vec(reply) {
        text.push(b'\n');
        let _ = write.write_all(&text).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
