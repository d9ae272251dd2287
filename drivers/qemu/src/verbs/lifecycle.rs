//! Lifecycle verbs: define, undefine, create, start, shutdown, destroy, suspend, resume;
//! the launch of a VM's supervisor and the control requests sent to it.

use crate::argv::{self, ArgvContext};
use crate::control::{self, CallError, LaunchSpec, Mode, Request, StartPlan};
use crate::domains::{lock_file, no_domain};
use crate::driver::QemuDriver;
use crate::launch;
use crate::paths::check_socket_path;
use crate::security::{self, PlanInput, SecuritySpec};
use crate::status::{write_atomic, Status};
use oxvirt_core::domain::{format_domain_xml, parse_domain_xml, Domain, FormatOptions};
use oxvirt_core::driver::{DomainKey, DomainState, DomainSummary};
use oxvirt_core::security::Rlimits;
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a supervisor may take to report that QEMU runs.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a control request may take (destroy waits for the grace period on top).
pub(crate) const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) fn define_xml(drv: &QemuDriver, xml: &str) -> Result<DomainSummary> {
    let dom = parse_domain_xml(xml)?;
    check_emulator(drv, &dom)?;
    // One define at a time in this process from the identity check to the write.
    let _defining = drv.define_lock.lock().unwrap_or_else(|e| e.into_inner());
    drv.check_identity(&dom)?;
    let _guard = drv.lock(&dom.name)?;
    let text = format_domain_xml(&dom, FormatOptions::default());
    write_atomic(&drv.layout.definition(&dom.name), text.as_bytes())?;
    drv.table.reload(&dom.name)?;
    if let Some(st) = drv.refresh_locked(&dom.name)? {
        let _ = control::call(
            &st.control,
            &Request::SetPersistent { persistent: true },
            CONTROL_TIMEOUT,
        );
    }
    let e = drv.entry(&DomainKey::Name(dom.name.clone()))?;
    drv.summary(&e)
}

/// An `<emulator>` must be a QEMU of `emulator_dirs` (checked, not run); none given is
/// fine here (the default is looked up at start).
fn check_emulator(drv: &QemuDriver, dom: &Domain) -> Result<()> {
    match &dom.devices.emulator {
        Some(_) => drv.emulator(dom).map(|_| ()),
        None => Ok(()),
    }
}

pub(crate) fn undefine(drv: &QemuDriver, key: &DomainKey) -> Result<()> {
    let e = drv.entry(key)?;
    let _guard = drv.lock(&e.name)?;
    if e.definition.is_none() {
        return Err(Error::operation_invalid(
            "Requested operation is not valid: cannot undefine transient domain",
        ));
    }
    if let Some(st) = &e.status {
        control::call(
            &st.control,
            &Request::SetPersistent { persistent: false },
            CONTROL_TIMEOUT,
        )
        .map_err(|err| match err {
            CallError::Failed(e) => e,
            CallError::Unreachable(io) => Error::operation_failed(format!(
                "cannot reach the supervisor of '{}': {io}",
                e.name
            )),
        })?;
    }
    let path = drv.layout.definition(&e.name);
    std::fs::remove_file(&path)
        .map_err(|err| Error::system(format!("cannot remove '{}'", path.display()), err))?;
    let _ = std::fs::remove_file(drv.layout.shutoff_reason(&e.name));
    drv.table.reload(&e.name)
}

pub(crate) fn create_xml(drv: &QemuDriver, xml: &str) -> Result<DomainSummary> {
    let dom = parse_domain_xml(xml)?;
    check_emulator(drv, &dom)?;
    drv.check_identity(&dom)?;
    let _guard = drv.lock(&dom.name)?;
    if drv.layout.definition(&dom.name).exists() {
        // libvirt starts a defined domain from the given XML, keeping it persistent.
        return drv.launch(&dom, true, &_guard);
    }
    drv.launch(&dom, false, &_guard)
}

pub(crate) fn start(drv: &QemuDriver, key: &DomainKey) -> Result<DomainSummary> {
    let e = drv.entry(key)?;
    let _guard = drv.lock(&e.name)?;
    if e.status.is_some() || drv.refresh_locked(&e.name)?.is_some() {
        return Err(Error::operation_invalid("Domain is already active"));
    }
    let dom = e.definition.clone().ok_or_else(|| no_domain(key))?;
    drv.launch(&dom, true, &_guard)
}

pub(crate) fn shutdown(drv: &QemuDriver, key: &DomainKey) -> Result<()> {
    let e = drv.entry(key)?;
    drv.control(key, Request::Powerdown, CONTROL_TIMEOUT)?;
    let timeout = Duration::from_secs(drv.config.shutdown_timeout_seconds);
    if !drv.wait_stopped(&e.name, timeout) {
        return Err(Error::new(
            ErrorCode::OperationTimeout,
            ErrorDomain::Qemu,
            format!(
                "domain '{}' did not power off within {} s after the ACPI power button; \
                 the guest may ignore ACPI (use 'destroy' to stop it now)",
                e.name,
                timeout.as_secs()
            ),
        ));
    }
    Ok(())
}

pub(crate) fn destroy(drv: &QemuDriver, key: &DomainKey) -> Result<()> {
    let grace = Duration::from_secs(drv.config.destroy_grace_seconds);
    let e = drv.entry(key)?;
    drv.control(key, Request::Destroy, CONTROL_TIMEOUT + grace)?;
    drv.wait_stopped(&e.name, Duration::from_secs(5));
    Ok(())
}

pub(crate) fn suspend(drv: &QemuDriver, key: &DomainKey) -> Result<()> {
    drv.control(key, Request::Suspend, CONTROL_TIMEOUT)
        .map(|_| ())
}

pub(crate) fn resume(drv: &QemuDriver, key: &DomainKey) -> Result<()> {
    let e = drv.entry(key)?;
    if let Some(st) = &e.status {
        if st.state != DomainState::Paused {
            return Err(Error::operation_invalid(
                "Requested operation is not valid: domain is not paused",
            ));
        }
    }
    drv.control(key, Request::Resume, CONTROL_TIMEOUT)
        .map(|_| ())
}

impl QemuDriver {
    pub(crate) fn next_id(&self) -> Result<u32> {
        let path = self.layout.id_counter();
        let _guard = lock_file(&path.with_extension("lock"))?;
        let current: u32 = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1);
        write_atomic(&path, format!("{}\n", current + 1).as_bytes())?;
        Ok(current)
    }

    /// Every host file the VM needs must exist before anything is started.
    pub(crate) fn check_resources(&self, dom: &Domain) -> Result<()> {
        let must_exist = |what: &str, path: &str| -> Result<()> {
            std::fs::metadata(path).map(|_| ()).map_err(|e| {
                Error::operation_failed(format!(
                    "Cannot access {what} '{path}' of domain '{}': {e}",
                    dom.name
                ))
            })
        };
        if let Some(k) = &dom.os.kernel {
            must_exist("kernel", k)?;
        }
        if let Some(i) = &dom.os.initrd {
            must_exist("initrd", i)?;
        }
        for d in &dom.devices.disks {
            if let Some(src) = &d.source {
                must_exist(&format!("storage file of disk '{}'", d.target_dev), src)?;
            }
        }
        Ok(())
    }

    /// What every launch spec of `name` shares; `mode` says start or adopt.
    fn launch_spec(
        &self,
        name: &str,
        id: u32,
        persistent: bool,
        domain_xml: String,
        dom: &Domain,
        mode: Mode,
    ) -> LaunchSpec {
        let runtime_dir = self.layout.runtime_dir(id, name);
        LaunchSpec {
            name: name.to_string(),
            id,
            persistent,
            monitor: runtime_dir.join("monitor.sock"),
            control: self.layout.control_socket(id, name),
            domain_dir: self.layout.domain_dir(id, name),
            runtime_dir,
            log: self.layout.log_file(name),
            status: self.layout.status(name),
            shutoff_reason: self.layout.shutoff_reason(name),
            domain_xml,
            on_poweroff: dom.on_poweroff().as_str().to_string(),
            on_reboot: dom.on_reboot().as_str().to_string(),
            on_crash: dom.on_crash().as_str().to_string(),
            destroy_grace_seconds: self.config.destroy_grace_seconds,
            security: SecuritySpec::from_config(&self.config, &self.layout.root),
            journal: self.layout.journal(name),
            lock_fd: None,
            mode,
        }
    }

    /// The launch spec of a new start: QEMU's argv (the code `domxml-to-native` uses)
    /// and the security plan — labels, resources and the confinement, all decided
    /// here before anything on the host changes.
    pub(crate) fn start_spec(&self, dom: &Domain, id: u32, persistent: bool) -> Result<LaunchSpec> {
        let runtime_dir = self.layout.runtime_dir(id, &dom.name);
        let domain_dir = self.layout.domain_dir(id, &dom.name);
        let monitor = runtime_dir.join("monitor.sock");
        check_socket_path(&monitor, &self.layout.root)?;
        check_socket_path(
            &self.layout.control_socket(id, &dom.name),
            &self.layout.root,
        )?;
        let emulator = self.emulator(dom)?;
        let ctx = ArgvContext {
            emulator: &emulator,
            monitor_socket: &monitor,
            domain_dir: &domain_dir,
            for_native_export: false,
            seccomp_sandbox: self.config.seccomp_sandbox,
            vnc_listen: &self.config.vnc_listen,
        };
        let caps = self.caps_for(&emulator)?;
        let cmd = argv::build_with_caps(dom, &ctx, &caps)?;
        let log = self.layout.log_file(&dom.name);
        // The backends see the emulator that will run (Landlock allows executing it).
        let mut live = dom.clone();
        live.id = Some(id);
        if live.devices.emulator.is_none() {
            live.devices.emulator = Some(emulator.display().to_string());
        }
        let (plan, live_seclabels) = security::plan(
            &SecuritySpec::from_config(&self.config, &self.layout.root),
            &PlanInput {
                domain: &live,
                id,
                root: &self.layout.root,
                vm_dirs: &[runtime_dir.as_path(), domain_dir.as_path()],
                rlimits: Rlimits {
                    max_processes: self.config.max_processes,
                    max_files: self.config.max_files,
                },
                log: &log,
                args: &cmd.args,
            },
        )?;
        // A step this build cannot apply is refused before anything is relabelled.
        launch::check(&plan.confinement)?;
        live.seclabels = live_seclabels;
        let start = StartPlan {
            command_line: cmd.to_shell_line(),
            binary: cmd.binary,
            args: cmd.args,
            env: cmd.env,
            taints: taints(dom),
            security: plan,
        };
        let xml = format_domain_xml(&live, FormatOptions { live: true });
        Ok(self.launch_spec(
            &dom.name,
            id,
            persistent,
            xml,
            dom,
            Mode::Start(Box::new(start)),
        ))
    }

    /// The launch spec that makes a new supervisor take over the running QEMU of `st`.
    pub(crate) fn adopt_spec(&self, name: &str, st: &Status) -> Result<LaunchSpec> {
        let dom = parse_domain_xml(&st.domain_xml)?;
        let mode = Mode::Adopt {
            pid: st.pid,
            start_time: st.start_time,
        };
        let mut spec = self.launch_spec(
            name,
            st.id,
            st.persistent,
            st.domain_xml.clone(),
            &dom,
            mode,
        );
        spec.monitor = st.monitor.clone();
        spec.control = st.control.clone();
        Ok(spec)
    }

    /// Run `oxvirt-supervisor` with `spec` and wait for its `OK` / `ERR` line. With no
    /// line (it died, or took longer than [`START_TIMEOUT`]) the supervisor is killed and
    /// reaped before this returns, so the caller can settle what it left.
    pub(crate) fn spawn_supervisor(&self, spec: &LaunchSpec) -> Result<Answer> {
        let exe = supervisor_path()?;
        let log = crate::supervisor::open_log(&spec.log).map_err(|e| {
            Error::system(format!("cannot open log file '{}'", spec.log.display()), e)
        })?;
        let mut child = Command::new(&exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| Error::system(format!("cannot run '{}'", exe.display()), e))?;
        let input = serde_json::to_vec(spec).map_err(|e| Error::internal(e.to_string()))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A supervisor that died at once shows as "no answer" below.
            let _ = stdin.write_all(&input);
        }
        let stdout = child.stdout.take();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            if let Some(out) = stdout {
                let _ = BufReader::new(out).read_line(&mut line);
            }
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let line = line.trim_end();
        let answer = if line == "OK" {
            Answer::Ok
        } else if let Some(msg) = line.strip_prefix("ERR ") {
            Answer::Err(msg.to_string())
        } else {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Answer::None);
        };
        // Reap the supervisor whenever it exits, so a long-lived caller keeps no zombie.
        std::thread::spawn(move || {
            let _ = child.wait();
        });
        Ok(answer)
    }

    /// A start whose supervisor gave no answer: it is gone now, so what it left decides.
    /// Running (the start finished, only the `OK` was lost): adopt it, the start
    /// succeeded. Anything else: kill what runs, restore, remove — the start failed and
    /// leaves nothing behind.
    fn settle_unanswered(&self, spec: &LaunchSpec) -> Result<()> {
        let no_answer = || {
            Error::operation_failed(format!(
                "domain '{}' did not start: the supervisor gave no answer (see '{}')",
                spec.name,
                spec.log.display()
            ))
        };
        match Status::read(&spec.status)? {
            Some(st)
                if st.state == DomainState::Running
                    && crate::process::is_alive(st.pid, st.start_time) =>
            {
                self.adopt(&spec.name, &st)
            }
            Some(st) => {
                self.abandon(&spec.name, &st, oxvirt_core::driver::StateReason::Failed)?;
                Err(no_answer())
            }
            None => {
                self.recover_journal_only(&spec.name);
                Err(no_answer())
            }
        }
    }

    /// Start `dom` (already checked) and return its summary. `lock` is the domain's lock,
    /// held by the caller; the supervisor inherits it until QEMU runs (or the start
    /// failed and everything is undone), so no other process sees a half-started VM.
    pub(crate) fn launch(
        &self,
        dom: &Domain,
        persistent: bool,
        lock: &nix::fcntl::Flock<File>,
    ) -> Result<DomainSummary> {
        if self.refresh_locked(&dom.name)?.is_some() {
            return Err(Error::operation_invalid("Domain is already active"));
        }
        self.check_resources(dom)?;
        let id = self.next_id()?;
        let mut spec = self.start_spec(dom, id, persistent)?;
        let _ = std::fs::remove_file(self.layout.shutoff_reason(&dom.name));
        let fd = std::os::fd::AsRawFd::as_raw_fd(&**lock);
        set_cloexec(fd, false)?;
        spec.lock_fd = Some(fd);
        let answer = self.spawn_supervisor(&spec);
        set_cloexec(fd, true)?;
        match answer? {
            Answer::None => self.settle_unanswered(&spec)?,
            a => a.into_result(&spec)?,
        }
        let st = Status::read(&self.layout.status(&dom.name))?.ok_or_else(|| {
            Error::operation_failed(format!("domain '{}' stopped right after start", dom.name))
        })?;
        self.table.reload(&dom.name)?;
        Ok(DomainSummary {
            name: dom.name.clone(),
            uuid: dom.uuid,
            id: Some(st.id),
            state: st.state,
            reason: st.reason,
            persistent,
        })
    }

    /// Send `req` to the running domain's supervisor, re-adopting the VM if needed.
    pub(crate) fn control(
        &self,
        key: &DomainKey,
        req: Request,
        timeout: Duration,
    ) -> Result<Option<serde_json::Value>> {
        let e = self.entry(key)?;
        let Some(st) = &e.status else {
            return Err(Error::operation_invalid(
                "Requested operation is not valid: domain is not running",
            ));
        };
        match control::call(&st.control, &req, timeout) {
            Ok(v) => Ok(v),
            Err(CallError::Failed(err)) => Err(err),
            Err(CallError::Unreachable(_)) => {
                // The supervisor vanished between the refresh and the call: one more try.
                let Some(st) = self.refresh(&e.name)? else {
                    return Err(Error::operation_invalid(
                        "Requested operation is not valid: domain is not running",
                    ));
                };
                let name = e.name.clone();
                control::call(&st.control, &req, timeout).map_err(|err| match err {
                    CallError::Failed(err) => err,
                    CallError::Unreachable(io) => Error::operation_failed(format!(
                        "cannot reach the supervisor of domain '{}' at '{}': {io}",
                        name,
                        st.control.display()
                    )),
                })
            }
        }
    }

    /// Wait until `name` has no live status, up to `timeout`.
    pub(crate) fn wait_stopped(&self, name: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(None) = self.refresh(name) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// What a supervisor said about its start.
pub(crate) enum Answer {
    /// `OK`: QEMU runs and the supervisor serves it.
    Ok,
    /// `ERR MESSAGE`: the start failed and the supervisor undid it.
    Err(String),
    /// No line: the supervisor died or hung (it has been killed since).
    None,
}

impl Answer {
    pub(crate) fn into_result(self, spec: &LaunchSpec) -> Result<()> {
        match self {
            Answer::Ok => Ok(()),
            Answer::Err(msg) => Err(Error::operation_failed(format!(
                "domain '{}' did not start: {msg}",
                spec.name
            ))),
            Answer::None => Err(Error::operation_failed(format!(
                "domain '{}': the supervisor gave no answer (see '{}')",
                spec.name,
                spec.log.display()
            ))),
        }
    }
}

/// libvirt's taint reasons for what the domain XML asks.
pub(crate) fn taints(dom: &Domain) -> Vec<String> {
    let mut t = Vec::new();
    if dom.qemu_commandline.is_some() {
        t.push("custom-argv".to_string());
    }
    if dom
        .qemu_capabilities
        .as_ref()
        .is_some_and(|c| !c.add.is_empty() || !c.del.is_empty())
    {
        t.push("custom-hypervisor-feature".to_string());
    }
    t
}

pub(crate) fn set_cloexec(fd: std::os::fd::RawFd, on: bool) -> Result<()> {
    let flags = if on {
        nix::fcntl::FdFlag::FD_CLOEXEC
    } else {
        nix::fcntl::FdFlag::empty()
    };
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFD(flags))
        .map(|_| ())
        .map_err(|e| Error::system("cannot change close-on-exec of the domain lock", e))
}

/// Where the `oxvirt-supervisor` binary is: `$OXVIRT_SUPERVISOR`, next to this program
/// (or one directory up, for test binaries under `target/*/deps`), or on `PATH`.
pub fn supervisor_path() -> Result<PathBuf> {
    const NAME: &str = "oxvirt-supervisor";
    if let Some(p) = std::env::var_os("OXVIRT_SUPERVISOR") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok();
    if let Some(dir) = exe.as_ref().and_then(|e| e.parent()) {
        for d in [Some(dir), dir.parent()].into_iter().flatten() {
            let p = d.join(NAME);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    for d in ["/usr/libexec/oxvirt", "/usr/lib/oxvirt"] {
        let p = Path::new(d).join(NAME);
        if p.is_file() {
            return Ok(p);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            let p = d.join(NAME);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(Error::internal(format!(
        "cannot find the '{NAME}' helper next to {} or on PATH; build it with \
         `cargo build --workspace` or set OXVIRT_SUPERVISOR",
        exe.map(|e| format!("'{}'", e.display()))
            .unwrap_or_else(|| "this program".into())
    )))
}
