//! The QEMU driver's [`Connection`]: definitions under `etc/qemu`, running domains found
//! through their status files under `run/qemu`, lifecycle requests forwarded to each VM's
//! supervisor. Every process that opens the same root sees the same domains.

use crate::argv::{self, ArgvContext};
use crate::caps::{self, QemuCaps};
use crate::control::{self, CallError, LaunchSpec, Request};
use crate::paths::{check_socket_path, RootLayout};
use crate::process;
use crate::security::{self, SecuritySpec};
use crate::status::{write_atomic, Status};
use oxvirt_config::QemuConfig;
use oxvirt_core::domain::{format_domain_xml, parse_domain_xml, Domain, FormatOptions};
use oxvirt_core::driver::{
    Connection, DomainInfo, DomainKey, DomainState, DomainSummary, ListFilter, StateReason,
    XmlFlags,
};
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a supervisor may take to report that QEMU runs.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a control request may take (destroy waits for the grace period on top).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

/// An open QEMU driver instance on one root.
pub struct QemuDriver {
    layout: RootLayout,
    config: QemuConfig,
    uri: String,
}

/// One domain known to the driver: its persistent definition and/or live status.
struct Entry {
    name: String,
    definition: Option<Domain>,
    status: Option<Status>,
}

impl QemuDriver {
    /// Open the embedded driver on `root` (`qemu:///embed?root=ROOT`).
    pub fn open_embed(root: &Path) -> Result<QemuDriver> {
        if !root.is_absolute() {
            return Err(Error::invalid_arg(format!(
                "embedded driver root '{}' must be an absolute path",
                root.display()
            )));
        }
        let layout = RootLayout::new(root);
        layout.create_tree()?;
        let config = QemuConfig::load_or_default(&layout.config_file())
            .map_err(|e| Error::new(ErrorCode::ConfNotFound, ErrorDomain::Config, e.to_string()))?;
        Ok(QemuDriver {
            uri: format!("qemu:///embed?root={}", root.display()),
            layout,
            config,
        })
    }

    pub fn layout(&self) -> &RootLayout {
        &self.layout
    }

    fn lock(&self, name: &str) -> Result<nix::fcntl::Flock<File>> {
        let path = self.layout.domain_lock(name);
        lock_file(&path)
    }

    fn read_definition(&self, path: &Path) -> Result<Domain> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::system(format!("cannot read '{}'", path.display()), e))?;
        parse_domain_xml(&text).map_err(|e| {
            Error::new(
                e.code,
                e.domain,
                format!("definition '{}' is invalid: {}", path.display(), e.message),
            )
        })
    }

    /// Every domain: persistent definitions plus running transient ones.
    fn entries(&self) -> Result<Vec<Entry>> {
        let mut names: Vec<String> = Vec::new();
        for dir in [self.layout.definitions_dir(), self.layout.status_dir()] {
            let rd = std::fs::read_dir(&dir)
                .map_err(|e| Error::system(format!("cannot list '{}'", dir.display()), e))?;
            for ent in rd.flatten() {
                let fname = ent.file_name().to_string_lossy().into_owned();
                if fname.starts_with('.') {
                    continue;
                }
                if let Some(name) = fname.strip_suffix(".xml") {
                    if !names.iter().any(|n| n == name) {
                        names.push(name.to_string());
                    }
                }
            }
        }
        names.sort();
        let mut out = Vec::new();
        for name in names {
            if let Some(e) = self.named_entry(&name)? {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// The domain called `name`, if it exists (definition and/or live status).
    fn named_entry(&self, name: &str) -> Result<Option<Entry>> {
        let def_path = self.layout.definition(name);
        let definition = if def_path.exists() {
            Some(self.read_definition(&def_path)?)
        } else {
            None
        };
        let status = self.refresh(name)?;
        if definition.is_none() && status.is_none() {
            return Ok(None);
        }
        Ok(Some(Entry {
            name: name.to_string(),
            definition,
            status,
        }))
    }

    /// The live status of `name`, checked against the process table: a QEMU that is gone
    /// is cleaned up after, a QEMU whose supervisor is gone is re-adopted.
    fn refresh(&self, name: &str) -> Result<Option<Status>> {
        match Status::read(&self.layout.status(name))? {
            None if !self.layout.journal(name).exists() => return Ok(None),
            Some(st) if process::is_alive(st.pid, st.start_time) && supervisor_alive(&st) => {
                return Ok(Some(st))
            }
            _ => {}
        }
        let _guard = self.lock(name)?;
        self.refresh_locked(name)
    }

    /// [`QemuDriver::refresh`] for a caller that holds the domain lock.
    fn refresh_locked(&self, name: &str) -> Result<Option<Status>> {
        let path = self.layout.status(name);
        let Some(st) = Status::read(&path)? else {
            // A journal without a status file: a start died between labelling and QEMU,
            // or a stop between QEMU's exit and the restore (a supervisor that is still
            // starting holds the lock, so it is not this).
            let journal = self.layout.journal(name);
            if journal.exists() {
                tracing::info!(
                    "restoring labels of domain '{name}' left by an interrupted start or stop"
                );
                if let Err(e) = security::recover(&journal) {
                    tracing::warn!("{e}");
                }
            }
            return Ok(None);
        };
        if supervisor_alive(&st) {
            if process::is_alive(st.pid, st.start_time) {
                return Ok(Some(st));
            }
            // QEMU is gone and its supervisor is finishing: wait for its cleanup.
            let deadline = Instant::now() + Duration::from_secs(5);
            while path.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if !path.exists() {
                return Ok(None);
            }
        }
        if process::is_alive(st.pid, st.start_time) {
            self.adopt(name, &st)?;
            return Status::read(&path);
        }
        // Nobody is left: put the labels back, then clean up after the VM.
        security::recover(&self.layout.journal(name))?;
        let domain = parse_domain_xml(&st.domain_xml).ok();
        if st.persistent {
            let _ = write_atomic(&self.layout.shutoff_reason(name), b"unknown");
        }
        let _ = std::fs::remove_file(&st.control);
        if let Some(dir) = st.control.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(d) = domain {
            let _ = std::fs::remove_dir_all(self.layout.domain_dir(st.id, &d.name));
        }
        std::fs::remove_file(&path)
            .map_err(|e| Error::system(format!("cannot remove '{}'", path.display()), e))?;
        Ok(None)
    }

    /// Start a new supervisor for a QEMU whose supervisor died.
    fn adopt(&self, name: &str, st: &Status) -> Result<()> {
        let dom = parse_domain_xml(&st.domain_xml)?;
        let mut spec = self.launch_spec(&dom, st.id, st.persistent)?;
        spec.monitor = st.monitor.clone();
        spec.control = st.control.clone();
        spec.adopt = Some((st.pid, st.start_time));
        spec.domain_xml = st.domain_xml.clone();
        tracing::info!("re-adopting domain '{name}' (QEMU pid {})", st.pid);
        self.spawn_supervisor(&spec)
    }

    fn entry(&self, key: &DomainKey) -> Result<Entry> {
        // By name: only that domain's files (the common case; no scan of the others).
        if let DomainKey::Name(n) = key {
            let valid = !n.is_empty() && !n.contains('/') && !n.starts_with('.');
            return match valid.then(|| self.named_entry(n)).transpose()?.flatten() {
                Some(e) => Ok(e),
                None => Err(no_domain(key)),
            };
        }
        for e in self.entries()? {
            let (uuid, id) = match (&e.status, &e.definition) {
                (Some(st), _) => (parse_domain_xml(&st.domain_xml)?.uuid, Some(st.id)),
                (None, Some(d)) => (d.uuid, None),
                (None, None) => continue,
            };
            let hit = match key {
                DomainKey::Name(n) => *n == e.name,
                DomainKey::Uuid(u) => *u == uuid,
                DomainKey::Id(i) => id == Some(*i),
            };
            if hit {
                return Ok(e);
            }
        }
        Err(no_domain(key))
    }

    fn summary(&self, e: &Entry) -> Result<DomainSummary> {
        match &e.status {
            Some(st) => {
                let dom = parse_domain_xml(&st.domain_xml)?;
                Ok(DomainSummary {
                    name: e.name.clone(),
                    uuid: dom.uuid,
                    id: Some(st.id),
                    state: st.state,
                    reason: st.reason,
                    persistent: e.definition.is_some(),
                })
            }
            None => {
                let d = e
                    .definition
                    .as_ref()
                    .ok_or_else(|| Error::no_domain(&e.name))?;
                let reason = std::fs::read_to_string(self.layout.shutoff_reason(&e.name))
                    .map(|s| StateReason::from_status_str(s.trim()))
                    .unwrap_or(StateReason::Unknown);
                Ok(DomainSummary {
                    name: e.name.clone(),
                    uuid: d.uuid,
                    id: None,
                    state: DomainState::Shutoff,
                    reason,
                    persistent: true,
                })
            }
        }
    }

    /// Reject a definition whose name or uuid belongs to another domain.
    fn check_identity(&self, dom: &Domain) -> Result<()> {
        for e in self.entries()? {
            let s = self.summary(&e)?;
            if s.name == dom.name && s.uuid != dom.uuid {
                return Err(Error::new(
                    ErrorCode::OperationFailed,
                    ErrorDomain::Qemu,
                    format!(
                        "operation failed: domain '{}' already exists with uuid {}",
                        s.name, s.uuid
                    ),
                ));
            }
            if s.uuid == dom.uuid && s.name != dom.name {
                return Err(Error::new(
                    ErrorCode::OperationFailed,
                    ErrorDomain::Qemu,
                    format!(
                        "operation failed: domain '{}' is already defined with uuid {}",
                        s.name, s.uuid
                    ),
                ));
            }
        }
        Ok(())
    }

    fn next_id(&self) -> Result<u32> {
        let path = self.layout.id_counter();
        let _guard = lock_file(&path.with_extension("lock"))?;
        let current: u32 = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1);
        write_atomic(&path, format!("{}\n", current + 1).as_bytes())?;
        Ok(current)
    }

    /// The QEMU binary for `dom`: its `<emulator>`, else the first match in `emulator_dirs`.
    fn emulator(&self, dom: &Domain) -> Result<PathBuf> {
        if let Some(e) = &dom.devices.emulator {
            let p = PathBuf::from(e);
            return match std::fs::metadata(&p) {
                Ok(m) if m.is_file() => Ok(p),
                Ok(_) => Err(Error::operation_failed(format!(
                    "Cannot find QEMU binary {e}: not a regular file"
                ))),
                Err(err) => Err(Error::operation_failed(format!(
                    "Cannot find QEMU binary {e}: {err}; install QEMU or fix <emulator>"
                ))),
            };
        }
        let arch = dom.os.arch.as_deref().unwrap_or("x86_64");
        let wanted: &[&str] = match arch {
            "x86_64" | "i686" | "i386" => &["qemu-system-x86_64", "qemu-system-i386", "qemu-kvm"],
            "aarch64" => &["qemu-system-aarch64"],
            other => {
                return Err(Error::unsupported(format!(
                    "no emulator known for architecture '{other}'; set <emulator>"
                )))
            }
        };
        for dir in &self.config.emulator_dirs {
            for bin in wanted {
                let p = dir.join(bin);
                if p.is_file() {
                    return Ok(p);
                }
            }
        }
        Err(Error::operation_failed(format!(
            "Cannot find a QEMU binary for architecture '{arch}' in {}; install qemu-system-x86 or set <emulator>",
            self.config
                .emulator_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// Every host file the VM needs must exist before anything is started.
    fn check_resources(&self, dom: &Domain) -> Result<()> {
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

    fn launch_spec(&self, dom: &Domain, id: u32, persistent: bool) -> Result<LaunchSpec> {
        let runtime_dir = self.layout.runtime_dir(id, &dom.name);
        let domain_dir = self.layout.domain_dir(id, &dom.name);
        let monitor = runtime_dir.join("monitor.sock");
        let control = runtime_dir.join("control.sock");
        check_socket_path(&monitor, &self.layout.root)?;
        check_socket_path(&control, &self.layout.root)?;
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
        let mut live = dom.clone();
        live.id = Some(id);
        if live.devices.emulator.is_none() {
            live.devices.emulator = Some(emulator.display().to_string());
        }
        Ok(LaunchSpec {
            name: dom.name.clone(),
            id,
            persistent,
            command_line: cmd.to_shell_line(),
            binary: cmd.binary,
            args: cmd.args,
            env: cmd.env,
            monitor,
            control,
            runtime_dir,
            domain_dir,
            log: self.layout.log_file(&dom.name),
            status: self.layout.status(&dom.name),
            shutoff_reason: self.layout.shutoff_reason(&dom.name),
            domain_xml: format_domain_xml(&live, FormatOptions { live: true }),
            on_poweroff: dom.on_poweroff().as_str().to_string(),
            on_reboot: dom.on_reboot().as_str().to_string(),
            on_crash: dom.on_crash().as_str().to_string(),
            destroy_grace_seconds: self.config.destroy_grace_seconds,
            adopt: None,
            taints: taints(dom),
            limits: crate::confine::Limits {
                max_processes: self.config.max_processes,
                max_files: self.config.max_files,
            },
            root: self.layout.root.clone(),
            security: SecuritySpec::from_config(&self.config),
            journal: self.layout.journal(&dom.name),
            lock_fd: None,
        })
    }

    /// The capabilities of `emulator` (cached under `cache/qemu/capabilities`).
    pub fn caps_for(&self, emulator: &Path) -> Result<QemuCaps> {
        caps::cache::load(&self.layout.capabilities_cache(), emulator).map_err(|e| {
            Error::new(
                e.code,
                e.domain,
                format!(
                    "cannot probe the capabilities of QEMU '{}': {}",
                    emulator.display(),
                    e.message
                ),
            )
        })
    }

    /// The capabilities of every QEMU in `emulator_dirs` (broken ones skipped).
    pub fn all_caps(&self) -> Vec<QemuCaps> {
        caps::load_all(
            &self.layout.capabilities_cache(),
            &self.config.emulator_dirs,
        )
        .0
    }

    /// Append a line to the domain's log (libvirt's taint messages).
    fn log_domain(&self, name: &str, msg: &str) {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.layout.log_file(name))
        {
            let _ = writeln!(f, "{msg}");
        }
    }

    /// Run `oxvirt-supervisor` with `spec` and wait for its `OK` / `ERR` line.
    fn spawn_supervisor(&self, spec: &LaunchSpec) -> Result<()> {
        let exe = supervisor_path()?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .map_err(|e| {
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
            stdin
                .write_all(&input)
                .map_err(|e| Error::system("cannot hand the launch spec to the supervisor", e))?;
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
        // Reap the supervisor whenever it exits, so a long-lived caller keeps no zombie.
        std::thread::spawn(move || {
            let _ = child.wait();
        });
        let line = line.trim_end();
        if line == "OK" {
            Ok(())
        } else if let Some(msg) = line.strip_prefix("ERR ") {
            Err(Error::operation_failed(format!(
                "domain '{}' did not start: {msg}",
                spec.name
            )))
        } else {
            Err(Error::operation_failed(format!(
                "domain '{}' did not start: the supervisor gave no answer (see '{}')",
                spec.name,
                spec.log.display()
            )))
        }
    }

    /// Start `dom` (already checked) and return its summary. `lock` is the domain's lock,
    /// held by the caller; the supervisor inherits it until QEMU runs (or the start
    /// failed and everything is undone), so no other process sees a half-started VM.
    fn launch(
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
        let mut spec = self.launch_spec(dom, id, persistent)?;
        let _ = std::fs::remove_file(self.layout.shutoff_reason(&dom.name));
        let fd = std::os::fd::AsRawFd::as_raw_fd(&**lock);
        set_cloexec(fd, false)?;
        spec.lock_fd = Some(fd);
        let spawned = self.spawn_supervisor(&spec);
        set_cloexec(fd, true)?;
        spawned?;
        let st = Status::read(&self.layout.status(&dom.name))?.ok_or_else(|| {
            Error::operation_failed(format!("domain '{}' stopped right after start", dom.name))
        })?;
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
    fn control(
        &self,
        key: &DomainKey,
        req: Request,
        timeout: Duration,
    ) -> Result<Option<serde_json::Value>> {
        let e = self.entry(key)?;
        let Some(st) = e.status else {
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
    fn wait_stopped(&self, name: &str, timeout: Duration) -> bool {
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

    /// `dominfo`'s security lines: the primary backend's model and DOI, and the running
    /// VM's label from its live XML.
    fn security_info(
        &self,
        dom: &Domain,
        active: bool,
    ) -> Result<Vec<oxvirt_core::driver::SecurityInfo>> {
        let mgr = SecuritySpec::from_config(&self.config).manager()?;
        let Some((model, doi)) = mgr.primary() else {
            return Ok(Vec::new());
        };
        let label = if active {
            dom.seclabels
                .iter()
                .find(|l| l.model.as_deref() == Some(model))
                .and_then(|l| l.label.clone())
        } else {
            None
        };
        Ok(vec![oxvirt_core::driver::SecurityInfo {
            model: model.to_string(),
            doi: doi.to_string(),
            label,
        }])
    }

    /// Run a QMP command (JSON text) on a running domain; the whole reply object.
    pub fn monitor_raw(&self, key: &DomainKey, command: &str) -> Result<serde_json::Value> {
        self.control(
            key,
            Request::Monitor {
                command: command.to_string(),
            },
            CONTROL_TIMEOUT,
        )
        .map(|v| v.unwrap_or(serde_json::Value::Null))
    }
}

/// libvirt's taint reasons for what the domain XML asks.
fn taints(dom: &Domain) -> Vec<String> {
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

/// The supervisor named in a status file still runs (not a zombie).
fn supervisor_alive(st: &Status) -> bool {
    st.supervisor_pid != 0
        && process::stat(st.supervisor_pid)
            .map(|s| s.state != 'Z' && s.state != 'X')
            .unwrap_or(false)
}

fn no_domain(key: &DomainKey) -> Error {
    let msg = match key {
        DomainKey::Name(n) => format!("Domain not found: no domain with matching name '{n}'"),
        DomainKey::Uuid(u) => format!("Domain not found: no domain with matching uuid '{u}'"),
        DomainKey::Id(i) => format!("Domain not found: no domain with matching id {i}"),
    };
    Error::new(ErrorCode::NoDomain, ErrorDomain::Qemu, msg)
}

fn set_cloexec(fd: std::os::fd::RawFd, on: bool) -> Result<()> {
    let flags = if on {
        nix::fcntl::FdFlag::FD_CLOEXEC
    } else {
        nix::fcntl::FdFlag::empty()
    };
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFD(flags))
        .map(|_| ())
        .map_err(|e| Error::system("cannot change close-on-exec of the domain lock", e))
}

fn lock_file(path: &Path) -> Result<nix::fcntl::Flock<File>> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::system(format!("cannot open lock file '{}'", path.display()), e))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::system(format!("cannot lock '{}'", path.display()), e))
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

impl Connection for QemuDriver {
    fn uri(&self) -> String {
        self.uri.clone()
    }

    fn hypervisor_type(&self) -> &'static str {
        "QEMU"
    }

    fn hypervisor_version(&self) -> Result<u64> {
        let dom = Domain::default();
        let bin = self.emulator(&dom)?;
        let out = Command::new(&bin)
            .arg("--version")
            .output()
            .map_err(|e| Error::system(format!("cannot run '{}'", bin.display()), e))?;
        parse_qemu_version(&String::from_utf8_lossy(&out.stdout)).ok_or_else(|| {
            Error::operation_failed(format!("cannot read the version of '{}'", bin.display()))
        })
    }

    fn list(&self, filter: ListFilter) -> Result<Vec<DomainSummary>> {
        let mut out = Vec::new();
        for e in self.entries()? {
            let s = self.summary(&e)?;
            let active = s.state.is_active();
            if (active && filter.active) || (!active && filter.inactive) {
                out.push(s);
            }
        }
        oxvirt_core::driver::sort_for_listing(&mut out);
        Ok(out)
    }

    fn lookup(&self, key: &DomainKey) -> Result<DomainSummary> {
        let e = self.entry(key)?;
        self.summary(&e)
    }

    fn define_xml(&self, xml: &str) -> Result<DomainSummary> {
        let dom = parse_domain_xml(xml)?;
        // Identity first: it refreshes every domain, which may take their locks.
        self.check_identity(&dom)?;
        let _guard = self.lock(&dom.name)?;
        let text = format_domain_xml(&dom, FormatOptions::default());
        write_atomic(&self.layout.definition(&dom.name), text.as_bytes())?;
        if let Some(st) = self.refresh_locked(&dom.name)? {
            let _ = control::call(
                &st.control,
                &Request::SetPersistent { persistent: true },
                CONTROL_TIMEOUT,
            );
        }
        let e = self.entry(&DomainKey::Name(dom.name.clone()))?;
        self.summary(&e)
    }

    fn undefine(&self, key: &DomainKey) -> Result<()> {
        let e = self.entry(key)?;
        let _guard = self.lock(&e.name)?;
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
        let path = self.layout.definition(&e.name);
        std::fs::remove_file(&path)
            .map_err(|err| Error::system(format!("cannot remove '{}'", path.display()), err))?;
        let _ = std::fs::remove_file(self.layout.shutoff_reason(&e.name));
        Ok(())
    }

    fn create_xml(&self, xml: &str) -> Result<DomainSummary> {
        let dom = parse_domain_xml(xml)?;
        // Identity first: it refreshes every domain, which may take their locks.
        self.check_identity(&dom)?;
        let _guard = self.lock(&dom.name)?;
        if self.layout.definition(&dom.name).exists() {
            // libvirt starts a defined domain from the given XML, keeping it persistent.
            return self.launch(&dom, true, &_guard);
        }
        self.launch(&dom, false, &_guard)
    }

    fn start(&self, key: &DomainKey) -> Result<DomainSummary> {
        let e = self.entry(key)?;
        let _guard = self.lock(&e.name)?;
        if e.status.is_some() || self.refresh_locked(&e.name)?.is_some() {
            return Err(Error::operation_invalid("Domain is already active"));
        }
        let dom = e.definition.ok_or_else(|| no_domain(key))?;
        self.launch(&dom, true, &_guard)
    }

    fn shutdown(&self, key: &DomainKey) -> Result<()> {
        let e = self.entry(key)?;
        self.control(key, Request::Powerdown, CONTROL_TIMEOUT)?;
        let timeout = Duration::from_secs(self.config.shutdown_timeout_seconds);
        if !self.wait_stopped(&e.name, timeout) {
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

    fn destroy(&self, key: &DomainKey) -> Result<()> {
        let grace = Duration::from_secs(self.config.destroy_grace_seconds);
        let e = self.entry(key)?;
        self.control(key, Request::Destroy, CONTROL_TIMEOUT + grace)?;
        self.wait_stopped(&e.name, Duration::from_secs(5));
        Ok(())
    }

    fn suspend(&self, key: &DomainKey) -> Result<()> {
        self.control(key, Request::Suspend, CONTROL_TIMEOUT)
            .map(|_| ())
    }

    fn resume(&self, key: &DomainKey) -> Result<()> {
        let e = self.entry(key)?;
        if let Some(st) = &e.status {
            if st.state != DomainState::Paused {
                return Err(Error::operation_invalid(
                    "Requested operation is not valid: domain is not paused",
                ));
            }
        }
        self.control(key, Request::Resume, CONTROL_TIMEOUT)
            .map(|_| ())
    }

    fn info(&self, key: &DomainKey) -> Result<DomainInfo> {
        let e = self.entry(key)?;
        let summary = self.summary(&e)?;
        let (dom, cpu_time_ns) = match &e.status {
            Some(st) => (
                parse_domain_xml(&st.domain_xml)?,
                process::cpu_time_ns(st.pid),
            ),
            None => (e.definition.clone().ok_or_else(|| no_domain(key))?, 0),
        };
        Ok(DomainInfo {
            summary,
            os_type: if dom.os.os_type.is_empty() {
                "hvm".into()
            } else {
                dom.os.os_type.clone()
            },
            max_mem_kib: dom.memory_kib,
            memory_kib: dom.current_memory_kib(),
            vcpus: dom.vcpu.current.unwrap_or(dom.vcpu.count),
            cpu_time_ns,
            autostart: false,
            security: self.security_info(&dom, e.status.is_some())?,
        })
    }

    fn capabilities(&self) -> Result<String> {
        let all = self.all_caps();
        let host = caps::xml::HostInfo::probe();
        // One <secmodel> per backend of the configured stack, in stack order.
        let secmodels = match SecuritySpec::from_config(&self.config).manager() {
            Ok(m) => m.secmodels(),
            Err(e) => {
                tracing::warn!("no <secmodel> in the capabilities: {}", e.message);
                Vec::new()
            }
        };
        Ok(caps::xml::capabilities_xml(&host, &secmodels, &all))
    }

    fn domain_capabilities(
        &self,
        emulator: Option<&str>,
        arch: Option<&str>,
        machine: Option<&str>,
        virttype: Option<&str>,
    ) -> Result<String> {
        let host = caps::xml::HostInfo::probe();
        let all = match emulator {
            Some(e) => vec![self.caps_for(Path::new(e))?],
            None => self.all_caps(),
        };
        let c = caps::xml::select(&all, &host.arch, emulator, arch)?;
        caps::xml::domain_capabilities_xml(c, machine, virttype, &host)
    }

    fn xml_to_native(&self, format: &str, xml: &str) -> Result<String> {
        check_native_format(format)?;
        let dom = parse_domain_xml(xml)?;
        let emulator = self.emulator(&dom)?;
        let caps = self.caps_for(&emulator)?;
        // As libvirt: the paths a VM with id -1 would use; nothing is created.
        let runtime_dir = self.layout.runtime_dir(0, &dom.name);
        let domain_dir = self.layout.domain_dir(0, &dom.name);
        let monitor = runtime_dir.join("monitor.sock");
        let ctx = ArgvContext {
            emulator: &emulator,
            monitor_socket: &monitor,
            domain_dir: &domain_dir,
            for_native_export: true,
            seccomp_sandbox: self.config.seccomp_sandbox,
            vnc_listen: &self.config.vnc_listen,
        };
        let cmd = argv::build_with_caps(&dom, &ctx, &caps)?;
        Ok(cmd.to_shell_line())
    }

    fn xml_from_native(&self, format: &str, native: &str) -> Result<String> {
        check_native_format(format)?;
        let (dom, warnings) = crate::native::from_argv_line(native)?;
        for w in &warnings {
            tracing::warn!("{w}");
        }
        let xml = format_domain_xml(&dom, FormatOptions::default());
        // Without -name there is no name, and libvirt 0.7 printed none.
        Ok(if dom.name.is_empty() {
            xml.replace("  <name></name>\n", "")
                .replace("  <name/>\n", "")
        } else {
            xml
        })
    }

    fn monitor_command(&self, key: &DomainKey, command: &str, hmp: bool) -> Result<String> {
        let e = self.entry(key)?;
        let Some(st) = &e.status else {
            return Err(Error::operation_invalid(
                "Requested operation is not valid: domain is not running",
            ));
        };
        let msg = if hmp {
            serde_json::json!({
                "execute": "human-monitor-command",
                "arguments": { "command-line": command }
            })
            .to_string()
        } else {
            let v: serde_json::Value = serde_json::from_str(command).map_err(|err| {
                Error::invalid_arg(format!(
                    "invalid argument: the QMP command is not JSON ({err}); give an object such as {{\"execute\":\"query-status\"}}, or use --hmp"
                ))
            })?;
            let Some(obj) = v.as_object() else {
                return Err(Error::invalid_arg(
                    "invalid argument: a QMP command must be a JSON object",
                ));
            };
            // Like libvirt ("id":"libvirt-N"), the command carries an id that QEMU
            // echoes in the reply; the caller's own id is kept.
            let mut obj = obj.clone();
            obj.entry("id").or_insert_with(|| {
                serde_json::Value::String(format!("oxvirt-{}", std::process::id()))
            });
            serde_json::Value::Object(obj).to_string()
        };
        self.log_domain(
            &e.name,
            &format!("Domain id={} is tainted: custom-monitor", st.id),
        );
        let reply = self.monitor_raw(key, &msg)?;
        if hmp {
            if let Some(err) = reply.pointer("/error/desc").and_then(|d| d.as_str()) {
                return Err(Error::operation_failed(format!(
                    "operation failed: HMP command failed: {err}"
                )));
            }
            return Ok(reply
                .get("return")
                .and_then(|r| r.as_str())
                .unwrap_or_default()
                .to_string());
        }
        Ok(reply.to_string())
    }

    fn security_model(&self) -> Result<Option<(String, String)>> {
        let mgr = SecuritySpec::from_config(&self.config).manager()?;
        Ok(mgr.primary().map(|(m, d)| (m.to_string(), d.to_string())))
    }

    fn xml(&self, key: &DomainKey, flags: XmlFlags) -> Result<String> {
        let e = self.entry(key)?;
        // Passwords only with --security-info (VIR_DOMAIN_XML_SECURE), as libvirt.
        let hide_secrets = |dom: &mut Domain| {
            if !flags.secure {
                for g in &mut dom.devices.graphics {
                    g.passwd = None;
                }
            }
        };
        match (&e.status, &e.definition, flags.inactive) {
            (Some(st), _, false) | (Some(st), None, true) => {
                let mut dom = parse_domain_xml(&st.domain_xml)?;
                dom.id = Some(st.id);
                hide_secrets(&mut dom);
                Ok(format_domain_xml(&dom, FormatOptions { live: true }))
            }
            (_, Some(def), _) => {
                let mut dom = def.clone();
                hide_secrets(&mut dom);
                Ok(format_domain_xml(&dom, FormatOptions::default()))
            }
            (None, None, _) => Err(no_domain(key)),
        }
    }
}

fn check_native_format(format: &str) -> Result<()> {
    if format != "qemu-argv" {
        return Err(Error::invalid_arg(format!(
            "invalid argument: unsupported config type {format}"
        )));
    }
    Ok(())
}

/// `QEMU emulator version 7.2.22 (Debian ...)` → 7_002_022.
pub fn parse_qemu_version(text: &str) -> Option<u64> {
    let rest = text.split("version ").nth(1)?;
    let ver = rest
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()?;
    let mut parts = ver.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let micro = parts.next().flatten().unwrap_or(0);
    Some(major * 1_000_000 + minor * 1000 + micro)
}

/// `qemu:///embed?root=DIR` opens the embedded driver; other `qemu` URIs need the daemon.
fn open_uri(uri: &oxvirt_core::uri::ConnectUri) -> Result<Option<Box<dyn Connection>>> {
    if uri.driver != "qemu" {
        return Ok(None);
    }
    if uri.transport.is_none() && uri.host.is_none() && uri.path == "embed" {
        let root = uri.param("root").ok_or_else(|| {
            Error::invalid_arg(format!(
                "URI '{}' has no root; use qemu:///embed?root=/absolute/dir",
                uri.original
            ))
        })?;
        return Ok(Some(Box::new(QemuDriver::open_embed(Path::new(root))?)));
    }
    // qemu:///system, qemu:///session and qemu+unix://... go through oxvirtd: the
    // remote driver (oxvirt-driver-remote) answers them.
    Ok(None)
}

oxvirt_core::inventory::submit! {
    oxvirt_core::registry::DriverRegistration { name: "QEMU", open: open_uri }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_version_parses() {
        assert_eq!(
            parse_qemu_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n"),
            Some(7_002_022)
        );
        assert_eq!(
            parse_qemu_version("QEMU emulator version 10.0\n"),
            Some(10_000_000)
        );
        assert_eq!(parse_qemu_version("garbage"), None);
    }
}
