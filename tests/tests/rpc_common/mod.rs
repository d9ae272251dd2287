//! Shared by the RPC end-to-end tests: a private `oxvirtd` on a temp root and socket
//! directory (killed on drop, after destroying what still runs), and runners for stock
//! `virsh` and `/usr/bin/python3` against it.

#![allow(dead_code)]

use oxvirt_tests::harness::{built_binary, guest_domain_xml};
use oxvirt_tests::GUEST_CMDLINE;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A binary of this workspace.
pub fn bin(name: &str) -> PathBuf {
    built_binary(name)
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A running `oxvirtd` serving a temp root.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    child: Child,
    extra: Vec<std::ffi::OsString>,
}

impl Daemon {
    pub fn start() -> Daemon {
        Self::start_with(|_| Vec::new())
    }

    /// Start with extra arguments, computed from the test directory.
    pub fn start_with(extra: impl FnOnce(&Path) -> Vec<std::ffi::OsString>) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("oxd")
            .tempdir_in("/tmp")
            .unwrap();
        let extra = extra(dir.path());
        let child = spawn_oxvirtd(dir.path(), &extra);
        let d = Daemon { dir, child, extra };
        d.wait_sockets();
        d
    }

    /// Stop the daemon (SIGTERM, waited for) and start it again on the same root.
    pub fn restart(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(self.socket());
        let _ = std::fs::remove_file(self.ro_socket());
        self.child = spawn_oxvirtd(self.dir.path(), &self.extra);
        self.wait_sockets();
    }

    fn wait_sockets(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.socket().exists() || !self.ro_socket().exists() {
            assert!(
                Instant::now() < deadline,
                "oxvirtd did not create its sockets:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn root(&self) -> PathBuf {
        self.path().join("root")
    }
    pub fn socket(&self) -> PathBuf {
        self.path().join("s/oxvirt-sock")
    }
    pub fn ro_socket(&self) -> PathBuf {
        self.path().join("s/oxvirt-sock-ro")
    }
    pub fn uri(&self) -> String {
        format!("qemu+unix:///system?socket={}", self.socket().display())
    }
    pub fn ro_uri(&self) -> String {
        format!("qemu+unix:///system?socket={}", self.ro_socket().display())
    }
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path().join("oxvirtd.log")).unwrap_or_default()
    }
    /// Run stock virsh against this daemon.
    pub fn virsh_on(&self, uri: &str, args: &[&str]) -> Out {
        let out = Command::new("virsh")
            .arg("-c")
            .arg(uri)
            .args(args)
            .env("LC_ALL", "C")
            .output()
            .expect("virsh (libvirt-clients) must be installed");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
    pub fn virsh(&self, args: &[&str]) -> Out {
        self.virsh_on(&self.uri(), args)
    }
    /// Run virsh and insist on exit 0.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.virsh(args);
        assert_eq!(
            o.code,
            0,
            "virsh {args:?} failed:\n{}{}\n--- oxvirtd log tail:\n{}",
            o.stdout,
            o.stderr,
            tail(&self.log(), 30)
        );
        o.stdout
    }
    /// Write a file in the test directory; returns its path.
    pub fn write(&self, file: &str, text: &str) -> String {
        let p = self.path().join(file);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }
    /// The test guest's domain XML.
    pub fn domain_xml(&self, name: &str) -> String {
        guest_domain_xml(
            name,
            GUEST_CMDLINE,
            &self.path().join(format!("{name}.serial")),
            "",
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Stop whatever still runs (through the embedded driver, daemon or not).
        if let Ok(rd) = std::fs::read_dir(self.root().join("run/qemu")) {
            for e in rd.flatten() {
                let f = e.file_name().to_string_lossy().into_owned();
                if let Some(name) = f.strip_suffix(".xml") {
                    let _ = Command::new(built_binary("oxvirt"))
                        .arg("-c")
                        .arg(format!("qemu:///embed?root={}", self.root().display()))
                        .args(["destroy", name])
                        .output();
                }
            }
        }
        self.stop();
    }
}

/// `oxvirtd` on `dir`'s root and socket directory, logging (appending) to its log.
fn spawn_oxvirtd(dir: &Path, extra: &[std::ffi::OsString]) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("oxvirtd.log"))
        .unwrap();
    Command::new(bin("oxvirtd"))
        .arg("--socket-dir")
        .arg(dir.join("s"))
        .arg("--root")
        .arg(dir.join("root"))
        .args(extra)
        .env("OXVIRT_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// `program` on PATH, or a panic naming the Debian package that has it.
pub fn require_command(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{program} is missing: install the Debian package {package}"
    );
}

pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Poll `f` until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `virsh event --all --loop` against a daemon, printing into a file of the test dir.
pub struct EventListener {
    child: Child,
    path: PathBuf,
}

impl EventListener {
    pub fn start(d: &Daemon) -> EventListener {
        let path = d.path().join("events.txt");
        let child = Command::new("virsh")
            .arg("-c")
            .arg(d.uri())
            .args(["event", "--all", "--loop"])
            .stdout(std::fs::File::create(&path).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("virsh (libvirt-clients) must be installed");
        EventListener { child, path }
    }

    /// What it printed so far.
    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap_or_default()
    }

    /// Wait until it printed `needle`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.text().contains(needle))
    }

    /// Stop it; the `event ...` lines it printed.
    pub fn finish(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.text()
            .lines()
            .filter(|l| l.starts_with("event "))
            .map(String::from)
            .collect()
    }
}

impl Drop for EventListener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Our own CLI (`oxvirt -c URI ...`).
pub fn oxvirt(uri: &str, args: &[&str]) -> Out {
    let out = Command::new(bin("oxvirt"))
        .arg("-c")
        .arg(uri)
        .args(args)
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
