//! What the end-to-end tests share: the built binaries, an embedded root driven through
//! the `oxvirt` CLI, the test guest's domain XML, and process checks that do not mistake
//! a zombie (reaped late by this machine's PID 1) for a live process.

use crate::guest;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The `target/<profile>/` directory above the running test executable.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/..")
        .to_path_buf()
}

/// A built cdylib or other artifact: `target/<profile>/NAME`, or `.../deps/NAME` where
/// `cargo test`/`nextest` leave cdylibs (only `cargo build` copies them up); the newer
/// one when both exist.
pub fn built_artifact(name: &str) -> PathBuf {
    let candidates = [
        target_dir().join(name),
        target_dir().join("deps").join(name),
    ];
    candidates
        .iter()
        .filter_map(|p| Some((std::fs::metadata(p).ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p.clone())
        .unwrap_or_else(|| {
            panic!(
                "{} is missing: build the workspace first (cargo build --workspace)",
                candidates[0].display()
            )
        })
}

/// A binary of this workspace (`oxvirt`, `oxvirtd`, `oxvirt-supervisor`) in
/// [`target_dir`].
pub fn built_binary(name: &str) -> PathBuf {
    let p = target_dir().join(name);
    assert!(
        p.is_file(),
        "{} is missing: build the binaries first (cargo build --workspace --bins)",
        p.display()
    );
    p
}

/// The command QEMU tests need, or a panic that says what to install.
pub fn require(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: install the Debian package {package} (.ci/run does)"
    );
}

/// What one `oxvirt` run printed.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A `qemu:///embed` root in a fresh directory under /tmp (short enough for socket
/// paths). Dropping it destroys every domain still running in it.
pub struct EmbedRoot {
    dir: tempfile::TempDir,
}

impl EmbedRoot {
    pub fn new(prefix: &str) -> EmbedRoot {
        EmbedRoot {
            dir: tempfile::Builder::new()
                .prefix(prefix)
                .tempdir_in("/tmp")
                .expect("temp dir in /tmp"),
        }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn uri(&self) -> String {
        format!("qemu:///embed?root={}", self.path().display())
    }
    /// Run `oxvirt -c URI ARGS`.
    pub fn run(&self, args: &[&str]) -> Out {
        self.run_env(args, &[])
    }
    /// Run `oxvirt -c URI ARGS` with environment variables set (`Some`) or removed
    /// (`None`); the supervisor inherits them.
    pub fn run_env(&self, args: &[&str], env: &[(&str, Option<&str>)]) -> Out {
        let mut cmd = Command::new(built_binary("oxvirt"));
        cmd.arg("-c").arg(self.uri()).args(args);
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let out = cmd.output().expect("run oxvirt");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
    /// Run and insist on success; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(
            o.code, 0,
            "oxvirt {args:?} failed:\n{}{}",
            o.stdout, o.stderr
        );
        o.stdout
    }
    /// `domstate --reason`, trimmed.
    pub fn state(&self, name: &str) -> String {
        self.ok(&["domstate", "--reason", name]).trim().to_string()
    }
    /// Poll `state` until it is `want` or `timeout` passes; the last state seen.
    pub fn wait_state(&self, name: &str, want: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.state(name);
            if s == want || Instant::now() > deadline {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    /// Write a file in the root; its path.
    pub fn write(&self, file: &str, text: &str) -> String {
        let p = self.path().join(file);
        std::fs::write(&p, text).expect("write test file");
        p.display().to_string()
    }
    /// A numeric attribute of the live status file (`pid`, `id`, `supervisor`).
    pub fn status_attr(&self, name: &str, attr: &str) -> Option<u32> {
        let text =
            std::fs::read_to_string(self.path().join(format!("run/qemu/{name}.xml"))).ok()?;
        let key = format!(" {attr}='");
        let start = text.find(&key)? + key.len();
        let end = start + text[start..].find('\'')?;
        text[start..end].parse().ok()
    }
}

impl Drop for EmbedRoot {
    fn drop(&mut self) {
        let Ok(rd) = std::fs::read_dir(self.path().join("run/qemu")) else {
            return;
        };
        for e in rd.flatten() {
            let f = e.file_name().to_string_lossy().into_owned();
            if let Some(name) = f.strip_suffix(".xml") {
                let _ = self.run(&["destroy", name]);
            }
        }
    }
}

/// The test guest as a domain: 256 MiB, TCG, direct kernel boot with `cmdline`, serial
/// console to `serial`, `extra` inserted before `<devices>`.
pub fn guest_domain_xml(name: &str, cmdline: &str, serial: &Path, extra: &str) -> String {
    let g = guest();
    format!(
        "<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{}</kernel>
    <initrd>{}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <features><acpi/></features>
  {extra}
  <devices>
    <serial type='file'><source path='{}'/><target port='0'/></serial>
  </devices>
</domain>
",
        g.kernel.display(),
        g.initrd.display(),
        serial.display()
    )
}

/// No such process, or only a zombie left.
pub fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(true),
    }
}

/// Poll [`process_gone`] for up to `timeout`.
pub fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while !process_gone(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    process_gone(pid)
}
