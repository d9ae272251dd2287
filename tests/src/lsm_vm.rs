//! The LSM test VM from Rust: run one command as root inside `scripts/lsm-vm`'s VM
//! (Debian's kernel under TCG with AppArmor or SELinux switched on, the host's userspace
//! and this checkout over 9p; docs/testing.md) and get back how it ended, its stdout and
//! stderr, and the kernel log (where AVC and AppArmor denials land). Also the pieces
//! the AppArmor and SELinux suites share: a QMP client for the VM ([`QMP_CLIENT`]) and
//! the QEMU disk probe ([`VmCommand::with_disk_probe`], [`assert_disk_probe`]).
//!
//! One VM at a time: the nextest group `lsm-vm` (`.config/nextest.toml`) runs the `lsm_*`
//! tests one by one, and a lock here serialises the threads of one test process (plain
//! `cargo test`). The VM's kernel and SELinux label layer must have been prepared once
//! (`scripts/lsm-vm prepare`, which `.ci/run` does); a run never downloads anything.

use crate::harness;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

/// The major LSM the VM's kernel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lsm {
    AppArmor,
    SELinux,
    /// Landlock and BPF only, like the build host.
    None,
}

impl Lsm {
    /// The name `scripts/lsm-vm` takes.
    pub fn name(self) -> &'static str {
        match self {
            Lsm::AppArmor => "apparmor",
            Lsm::SELinux => "selinux",
            Lsm::None => "none",
        }
    }
}

/// How a VM run ended (`scripts/lsm-vm`'s exit statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmExit {
    /// COMMAND ran to its end with this status (128+N when signal N killed it).
    Exited(i32),
    /// 241: the VM never got to COMMAND, or stopped without COMMAND's status.
    BootFailure,
    /// 242: the VM's kernel panicked.
    KernelPanic,
    /// 243: the timeout passed, boot included.
    Timeout,
    /// The harness itself failed: 240 not prepared / cannot build, 2 bad usage, ...
    Harness(i32),
}

/// A command for the VM, built up and then [`run`](VmCommand::run).
#[derive(Debug, Clone)]
pub struct VmCommand {
    lsm: Lsm,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    files: Vec<(String, String)>,
    shares: Vec<PathBuf>,
    timeout: Duration,
    cpus: Option<u32>,
}

/// What a VM run left: its end, COMMAND's output, the kernel log, the harness's words.
#[derive(Debug, Clone)]
pub struct VmOutput {
    pub exit: VmExit,
    pub stdout: String,
    pub stderr: String,
    /// The kernel log after COMMAND (`dmesg`); when the VM died first, what reached the
    /// console (errors, and from the end of the boot every notice: AVCs, AppArmor).
    pub kernel_log: String,
    /// scripts/lsm-vm's own stderr: COMMAND's stderr, then its message on failure.
    pub harness: String,
    /// The guest's uptime when COMMAND started (kernel start to COMMAND), in seconds.
    pub started_after: Option<f64>,
}

/// The default timeout of a run, boot included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

static ONE_VM: Mutex<()> = Mutex::new(());

/// `scripts/lsm-vm` in this checkout.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/lsm-vm")
}

impl VmCommand {
    /// COMMAND is `argv` (run as root, in the caller's directory when the VM has it).
    pub fn new<S: AsRef<str>>(lsm: Lsm, argv: &[S]) -> VmCommand {
        assert!(!argv.is_empty(), "a VM command needs at least argv[0]");
        VmCommand {
            lsm,
            argv: argv.iter().map(|a| a.as_ref().to_string()).collect(),
            env: Vec::new(),
            files: Vec::new(),
            shares: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            cpus: None,
        }
    }

    /// COMMAND is `sh -c SCRIPT` (with `set -eu` left to the script).
    pub fn shell(lsm: Lsm, script: &str) -> VmCommand {
        VmCommand::new(lsm, &["sh", "-c", script])
    }

    /// Adds NAME=VALUE to COMMAND's environment (which starts from a clean one).
    pub fn env(mut self, name: &str, value: &str) -> VmCommand {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// A file for COMMAND: written to a fresh host directory that the VM sees read-only
    /// at the same path, named by `$LSMVM_FILES` in COMMAND's environment.
    pub fn file(mut self, name: &str, contents: &str) -> VmCommand {
        assert!(
            !name.contains('/') && !name.is_empty(),
            "a VM file name is one path component, got {name:?}"
        );
        self.files.push((name.to_string(), contents.to_string()));
        self
    }

    /// Also shares the host directory `dir`, read-only, at the same path.
    pub fn share(mut self, dir: impl Into<PathBuf>) -> VmCommand {
        self.shares.push(dir.into());
        self
    }

    /// Kills the VM after `timeout`, boot included ([`DEFAULT_TIMEOUT`] otherwise).
    pub fn timeout(mut self, timeout: Duration) -> VmCommand {
        self.timeout = timeout;
        self
    }

    /// The number of vCPUs (scripts/lsm-vm's default otherwise).
    pub fn cpus(mut self, cpus: u32) -> VmCommand {
        self.cpus = Some(cpus);
        self
    }

    /// Boots the VM, runs COMMAND, returns how it went. Panics only when the harness
    /// cannot be started at all (no bash, no temp dir).
    pub fn run(&self) -> VmOutput {
        let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
        let out_dir = tempfile::Builder::new()
            .prefix("lsm-vm-out.")
            .tempdir()
            .expect("temp dir for the VM run");
        let files_dir = tempfile::Builder::new()
            .prefix("lsm-vm-files.")
            .tempdir()
            .expect("temp dir for the VM's files");
        for (name, contents) in &self.files {
            std::fs::write(files_dir.path().join(name), contents)
                .unwrap_or_else(|e| panic!("cannot write the VM file {name}: {e}"));
        }
        let mut cmd = Command::new("bash");
        cmd.arg(script())
            .arg("--quiet")
            .args(["--timeout", &self.timeout.as_secs().max(1).to_string()])
            .arg("--out")
            .arg(out_dir.path())
            .arg("--share")
            .arg(files_dir.path())
            .args([
                "--env",
                &format!("LSMVM_FILES={}", files_dir.path().display()),
            ]);
        // The binaries the tests run were built here, wherever CARGO_TARGET_DIR points.
        if let Some(target) = harness::target_dir().parent() {
            cmd.arg("--share").arg(target);
        }
        for dir in &self.shares {
            cmd.arg("--share").arg(dir);
        }
        for (name, value) in &self.env {
            cmd.args(["--env", &format!("{name}={value}")]);
        }
        if let Some(cpus) = self.cpus {
            cmd.args(["--cpus", &cpus.to_string()]);
        }
        cmd.arg(self.lsm.name()).arg("--").args(&self.argv);
        let out = cmd.output().unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e} (is bash installed?)",
                script().display()
            )
        });
        let read = |name: &str| std::fs::read(out_dir.path().join(name)).ok();
        let text = |name: &str| read(name).map(|b| String::from_utf8_lossy(&b).into_owned());
        let status = text("status").and_then(|s| s.trim().parse::<i32>().ok());
        let code = out.status.code().unwrap_or(-1);
        VmOutput {
            exit: match (status, code) {
                (Some(s), _) => VmExit::Exited(s),
                (None, 241) => VmExit::BootFailure,
                (None, 242) => VmExit::KernelPanic,
                (None, 243) => VmExit::Timeout,
                (None, c) => VmExit::Harness(c),
            },
            stdout: text("stdout").unwrap_or_default(),
            stderr: text("stderr").unwrap_or_default(),
            kernel_log: text("kmsg")
                .or_else(|| text("console.log"))
                .unwrap_or_default()
                .replace('\r', ""),
            harness: String::from_utf8_lossy(&out.stderr).into_owned(),
            started_after: text("started").and_then(|s| s.trim().parse().ok()),
        }
    }
}

impl VmOutput {
    /// Did COMMAND run and exit 0?
    pub fn success(&self) -> bool {
        self.exit == VmExit::Exited(0)
    }

    /// Panics with the whole run unless COMMAND exited 0.
    #[track_caller]
    pub fn assert_success(&self) -> &VmOutput {
        assert!(self.success(), "the VM command failed\n{self}");
        self
    }

    /// The lines of the kernel log that contain every one of `needles`.
    pub fn kernel_log_lines(&self, needles: &[&str]) -> Vec<&str> {
        self.kernel_log
            .lines()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .collect()
    }

    /// The value printed by COMMAND on its stdout line `KEY: VALUE` (the first one).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.lines_with(key).first().copied()
    }

    /// The values of all of COMMAND's stdout lines `KEY: VALUE`, in order.
    pub fn lines_with(&self, key: &str) -> Vec<&str> {
        let prefix = format!("{key}: ");
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            .collect()
    }
}

impl fmt::Display for VmOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = |s: &str, n: usize| {
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        };
        writeln!(f, "exit: {:?}", self.exit)?;
        writeln!(f, "--- stdout\n{}", self.stdout)?;
        writeln!(f, "--- stderr\n{}", self.stderr)?;
        writeln!(f, "--- scripts/lsm-vm\n{}", tail(&self.harness, 40))?;
        write!(
            f,
            "--- kernel log (last 40 lines)\n{}",
            tail(&self.kernel_log, 40)
        )
    }
}

/// A QMP client for COMMANDs in the VM (a [`VmCommand::file`], run with python3, the
/// host's): `qmp.py SOCKET [SOCKCREATE_CONTEXT]` connects (retrying for 60 s while QEMU
/// starts), reads one JSON command per line on stdin (`qmp_capabilities` first) and
/// prints each reply as one JSON line, events skipped. SOCKCREATE_CONTEXT labels the
/// client's socket, as libvirt does (`virtd_t` at the VM's MCS level: QEMU at
/// `s0:c1,c2` may not write to a connection at the harness's `s0-s0:c0.c1023`).
pub const QMP_CLIENT: &str = r#"import json, socket, sys, time
path = sys.argv[1]
if len(sys.argv) > 2:
    with open("/proc/self/attr/sockcreate", "w") as f:
        f.write(sys.argv[2])
sock = socket.socket(socket.AF_UNIX)
deadline = time.monotonic() + 60
while True:
    try:
        sock.connect(path)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.1)
qmp = sock.makefile("rw")
json.loads(qmp.readline())
for line in sys.stdin:
    if not line.strip():
        continue
    qmp.write(line.strip() + "\n")
    qmp.flush()
    while True:
        reply = json.loads(qmp.readline())
        if "event" not in reply:
            break
    print(json.dumps(reply), flush=True)
"#;

/// Where the QEMU disk probe's images live in the VM: `a.img` (QEMU's own, opened at
/// start as block node `a`) and `b.img` (another VM's), with the QMP socket and QEMU's
/// log in `run/`. The caller creates them (and labels them, or loads a profile).
pub const DISK_PROBE_DIR: &str = "/var/lib/lsmtest";

/// The disk probe, `sh "$LSMVM_FILES/probe.sh" SOCKCREATE LAUNCHER...`: QEMU paused with
/// no machine and block node `a`, started through LAUNCHER (`aa-exec -p P --`, `runcon
/// CONTEXT`), then [`DISK_PROBE_QMP`] through [`QMP_CLIENT`] (SOCKCREATE labels the
/// client's socket, `-` for none). Prints `ps:`, `label:`, `exe:`, `mapped:` (label and
/// path of every file QEMU maps), `reply:` and `qemu:` (its log) lines.
const DISK_PROBE_SH: &str = r#"set -eu
d=/var/lib/lsmtest
sockcreate=$1
shift
mkdir -p $d/run
"$@" qemu-system-x86_64 -S -display none -machine none -nodefaults \
    -qmp unix:$d/run/qmp.sock,server=on,wait=off \
    -blockdev driver=file,node-name=a,filename=$d/a.img </dev/null >>$d/run/qemu.log 2>&1 &
qemu=$!
if [ "$sockcreate" = - ]; then set --; else set -- "$sockcreate"; fi
python3 "$LSMVM_FILES/qmp.py" $d/run/qmp.sock "$@" <"$LSMVM_FILES/probe.qmp" >$d/replies
echo "ps: $(ps -eZ | grep " $qemu " | tr -s ' ')"
echo "label: $(tr -d '\0' </proc/$qemu/attr/current)"
echo "exe: $(readlink /proc/$qemu/exe)"
for f in $(awk '$6 ~ "^/" { print $6 }' /proc/$qemu/maps | sort -u); do
    echo "mapped: $(stat -c %C "$f") $f"
done
sed 's/^/reply: /' $d/replies
kill $qemu
wait $qemu || true
sed 's/^/qemu: /' $d/run/qemu.log
"#;

impl VmCommand {
    /// Ships the disk probe's files (`probe.sh`, `qmp.py`, `probe.qmp`) with COMMAND.
    pub fn with_disk_probe(self) -> VmCommand {
        self.file("probe.sh", DISK_PROBE_SH)
            .file("qmp.py", QMP_CLIENT)
            .file("probe.qmp", DISK_PROBE_QMP)
    }
}

/// The disk probe's QMP commands, for [`QMP_CLIENT`]'s stdin: a `qemu-io` read of node
/// `a`, then `blockdev-add` of `b.img`.
pub const DISK_PROBE_QMP: &str = r#"{"execute": "qmp_capabilities"}
{"execute": "human-monitor-command", "arguments": {"command-line": "qemu-io a \"read 0 4096\""}}
{"execute": "blockdev-add", "arguments": {"driver": "file", "node-name": "b", "filename": "/var/lib/lsmtest/b.img"}}
"#;

/// The disk probe's outcome in COMMAND's stdout (`reply: ` lines: the QMP replies,
/// `qemu: ` lines: QEMU's output): QEMU read its own disk, and opening `b.img` failed
/// with EACCES.
#[track_caller]
pub fn assert_disk_probe(out: &VmOutput) {
    let replies = out.lines_with("reply");
    assert_eq!(replies.len(), 3, "three QMP replies\n{out}");
    assert_eq!(replies[0], r#"{"return": {}}"#, "{out}");
    assert_eq!(replies[1], r#"{"return": ""}"#, "qemu-io on a.img\n{out}");
    let refused = format!("Could not open '{DISK_PROBE_DIR}/b.img': Permission denied");
    assert!(
        replies[2].contains(&refused),
        "blockdev-add of b.img must be refused with EACCES: {}\n{out}",
        replies[2]
    );
    assert!(
        out.lines_with("qemu")
            .contains(&"read 4096/4096 bytes at offset 0"),
        "QEMU read its own disk\n{out}"
    );
}

/// The kernel logged an enforced (`permissive=0`) SELinux AVC denial with all of `parts`.
#[track_caller]
pub fn assert_avc(out: &VmOutput, parts: &[&str]) {
    let mut needles = vec!["avc:  denied", "permissive=0"];
    needles.extend_from_slice(parts);
    assert!(
        !out.kernel_log_lines(&needles).is_empty(),
        "no enforced AVC denial with {parts:?} in the kernel log\n{out}"
    );
}
