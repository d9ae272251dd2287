//! How a supervisor gets its QEMU, in order:
//!
//! 1. the VM's directories (0700) and the control socket (0600) — before QEMU, so a
//!    request sent during the start waits instead of failing;
//! 2. a new start: the security plan carried out (journal, labels, cgroup), then
//!    `launch::spawn` — the status file (paused, starting up; QEMU's pid and start time)
//!    is written after the fork and *before* QEMU may exec; an adoption: a pidfd on the
//!    running QEMU, its labels re-registered, the status rewritten with this supervisor;
//! 3. QMP (greeting, `qmp_capabilities`); a new start then sets the VNC password,
//!    reads the VNC port back, sends `cont` and records running (booted) — the one
//!    moment the start counts as done.
//!
//! Any failure once QEMU exists kills it (and waits until it is gone) before the error
//! is returned: labels are only ever restored with no QEMU left.

use super::log::{log_line, log_start};
use super::pause::pause_at;
use super::qemu::Qemu;
use super::vm::Supervisor;
use crate::control::{LaunchSpec, Mode, StartPlan};
use crate::launch::{self, Exec};
use crate::qmp::Qmp;
use crate::status::Status;
use oxvirt_core::driver::{DomainState, StateReason};
use oxvirt_core::{Error, Result};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;
use tokio::net::UnixListener;

/// How long QEMU gets to open its monitor socket.
const MONITOR_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) type Started = (Supervisor, Qmp, UnixListener);
pub(super) type Failed = (Box<LaunchSpec>, Error);

fn fail<T>(spec: LaunchSpec, e: Error) -> std::result::Result<T, Failed> {
    Err((Box::new(spec), e))
}

/// A private directory for the VM (0700; DAC then gives it to QEMU's user).
fn vm_dir(d: &Path) -> Result<()> {
    std::fs::create_dir_all(d)
        .and_then(|_| std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| Error::system(format!("cannot create '{}'", d.display()), e))
}

/// The control socket, reachable by the managing uid only.
fn bind_control(path: &Path) -> Result<UnixListener> {
    let _ = std::fs::remove_file(path);
    let l = UnixListener::bind(path)
        .map_err(|e| Error::system(format!("cannot listen on '{}'", path.display()), e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::system(format!("cannot restrict '{}'", path.display()), e))?;
    Ok(l)
}

fn new_status(spec: &LaunchSpec) -> Status {
    Status {
        id: spec.id,
        state: DomainState::Paused,
        reason: StateReason::StartingUp,
        pid: 0,
        start_time: 0,
        supervisor_pid: std::process::id(),
        supervisor_start_time: crate::process::stat(std::process::id())
            .map(|s| s.start_time)
            .unwrap_or(0),
        monitor: spec.monitor.clone(),
        control: spec.control.clone(),
        persistent: spec.persistent,
        domain_xml: spec.domain_xml.clone(),
    }
}

pub(super) async fn start(spec: LaunchSpec) -> std::result::Result<Started, Failed> {
    let prepared = [&spec.runtime_dir, &spec.domain_dir]
        .into_iter()
        .try_for_each(|d| vm_dir(d))
        .and_then(|_| bind_control(&spec.control));
    let listener = match prepared {
        Ok(l) => l,
        Err(e) => return fail(spec, e),
    };
    let mut status = new_status(&spec);
    let got = match &spec.mode {
        Mode::Start(plan) => start_qemu(&spec, plan, &mut status),
        Mode::Adopt { pid, start_time } => adopt_qemu(&spec, *pid, *start_time, &mut status),
    };
    let mut qemu = match got {
        Ok(q) => q,
        Err(e) => return fail(spec, e),
    };
    match talk_to_qemu(&spec, &mut qemu, &mut status).await {
        Ok(qmp) => {
            if matches!(spec.mode, Mode::Start(_)) {
                pause_at("running");
            }
            Ok((Supervisor::new(spec, status, qemu), qmp, listener))
        }
        Err(e) => {
            qemu.kill().await;
            fail(spec, e)
        }
    }
}

/// Carry out the security plan and start QEMU, recorded in the status file before it
/// may exec.
fn start_qemu(spec: &LaunchSpec, plan: &StartPlan, status: &mut Status) -> Result<Qemu> {
    crate::security::apply(
        &spec.security,
        &spec.domain_xml,
        &plan.security,
        &spec.journal,
    )?;
    pause_at("labelled");
    log_start(&spec.log, &plan.command_line, spec.id, &plan.taints);
    let _ = std::fs::remove_file(&spec.monitor);
    let exec = Exec {
        binary: plan.binary.clone(),
        args: plan.args.clone(),
        env: plan.env.clone(),
        cwd: "/".into(),
        // As libvirt: files QEMU creates are group-writable, not world-writable.
        umask: 0o002,
    };
    let pidfd = launch::spawn(&exec, &plan.security.confinement, |pid, start_time| {
        pause_at("forked");
        status.pid = pid;
        status.start_time = start_time;
        status.write(&spec.status)?;
        pause_at("recorded");
        Ok(())
    })?;
    pause_at("execd");
    Qemu::child(pidfd)
}

/// Take over the running QEMU `pid`: keep its recorded state, name this supervisor.
fn adopt_qemu(spec: &LaunchSpec, pid: u32, start_time: u64, status: &mut Status) -> Result<Qemu> {
    log_line(&spec.log, &format!("reconnecting to QEMU pid {pid}"));
    let qemu = Qemu::adopt(pid, start_time)?;
    if let Err(e) = crate::security::reserve(&spec.journal) {
        log_line(
            &spec.log,
            &format!("cannot reserve the security labels: {e}"),
        );
    }
    if let Some(old) = Status::read(&spec.status).ok().flatten() {
        status.state = old.state;
        status.reason = old.reason;
    }
    status.pid = pid;
    status.start_time = start_time;
    status.write(&spec.status)?;
    Ok(qemu)
}

/// QMP up; a new start finishes (graphics, `cont`, running); an adoption reads the
/// real run state. The status file is rewritten either way.
async fn talk_to_qemu(spec: &LaunchSpec, qemu: &mut Qemu, status: &mut Status) -> Result<Qmp> {
    let socket_label = match &spec.mode {
        Mode::Start(plan) => plan.security.confinement.monitor_socket_label.clone(),
        Mode::Adopt { .. } => crate::security::journal::monitor_socket_label(&spec.journal)?,
    };
    let connected = tokio::select! {
        q = Qmp::connect_retry(&spec.monitor, MONITOR_TIMEOUT, socket_label.as_deref()) => q,
        _ = qemu.wait() => Err(Error::operation_failed("QEMU exited while starting up")),
    };
    let mut qmp = connected?;
    match spec.mode {
        Mode::Start(_) => {
            pause_at("monitor");
            status.domain_xml = prepare_graphics(&mut qmp, &status.domain_xml).await?;
            qmp.execute("cont", None).await?;
            status.state = DomainState::Running;
            status.reason = StateReason::Booted;
        }
        Mode::Adopt { .. } => {
            if let Ok(st) = qmp.execute("query-status", None).await {
                let running = st.get("running").and_then(Value::as_bool).unwrap_or(false);
                if running && status.state != DomainState::Running {
                    status.state = DomainState::Running;
                    status.reason = StateReason::Unknown;
                } else if !running && status.state == DomainState::Running {
                    status.state = DomainState::Paused;
                    status.reason = StateReason::Unknown;
                }
            }
        }
    }
    status.write(&spec.status)?;
    Ok(qmp)
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
