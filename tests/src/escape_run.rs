//! Running the escape probe against two real VMs of a [`Root`]: the probe binary is
//! copied into VM A's private directory and started with exactly A's confinement (the
//! journal's) through the launcher's fork/confine/exec path, while a listener holds an
//! abstract unix socket under B's confinement; QEMU A's own monitor adds the two
//! strongest cells (`blockdev-add` of B's disk and of `/etc/shadow`).

use crate::confined::Root;
use crate::escape::Targets;
use crate::harness::built_binary;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The dynamic loader runs the probe: the confinement lets QEMU's process execute only
/// QEMU and the libraries, and the probe is a file in the VM's own directory.
const LOADER: &str = "/lib64/ld-linux-x86-64.so.2";

/// The directory `lib/qemu/domain-ID-NAME` of a running VM.
fn domain_dir(r: &Root, name: &str) -> PathBuf {
    let id = r.status_attr(name, "id").expect("running VM has an id");
    r.file(&format!("lib/qemu/domain-{id}-{name}"))
}

/// The probe, copied where the VM `name` may read it.
fn probe_copy(r: &Root, name: &str) -> PathBuf {
    let p = domain_dir(r, name).join("escape-probe");
    std::fs::copy(built_binary("oxvirt-escape-probe"), &p).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// `oxvirt-escape-probe launch` for VM `name`, writing to `out`, running `args`.
fn launch(r: &Root, name: &str, out: &Path, args: &[String]) -> Command {
    let mut c = r.command(&built_binary("oxvirt-escape-probe"));
    c.arg("launch")
        .arg(r.file(&format!("run/qemu/{name}.journal")))
        .arg(out)
        .arg("--")
        .arg(LOADER)
        .arg(probe_copy(r, name))
        .args(args);
    c
}

/// A file the launcher (root or `nobody`) may create and append to.
fn out_file(r: &Root, f: &str) -> PathBuf {
    let p = r.file(f);
    std::fs::write(&p, b"").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
    p
}

/// An abstract unix socket held open under VM `name`'s confinement; killed on drop.
pub struct Listener {
    pid: Option<u32>,
    launcher: std::process::Child,
}

impl Listener {
    pub fn start(r: &Root, name: &str, socket: &str) -> Listener {
        let out = out_file(r, &format!("{name}.listener"));
        let args = ["listen".to_string(), socket.to_string(), "120".to_string()];
        let mut l = Listener {
            pid: None,
            launcher: launch(r, name, &out, &args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while l.pid.is_none() {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            l.pid = text
                .strip_prefix("listening ")
                .and_then(|p| p.trim().parse().ok());
            if l.pid.is_none() && Instant::now() > deadline {
                let _ = l.launcher.kill();
                panic!("the listener under {name}'s confinement did not start: {text}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        l
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            // SAFETY: kill of the listener this test started (its pid, printed by it).
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        let _ = self.launcher.wait();
    }
}

/// The host things the probe attacks that are not the VMs'.
pub struct HostTargets {
    pub daemon_socket: PathBuf,
    pub tcp_port: u16,
    pub block: Option<PathBuf>,
}

/// Run the probe as VM `a` against VM `b`; its cells (name → `ok` / `denied: ...`),
/// plus QEMU A's monitor cells.
pub fn probe(r: &Root, a: &str, b: &str, host: &HostTargets) -> BTreeMap<String, String> {
    let abstract_name = format!("oxvirt-escape-{}-{b}", std::process::id());
    let _listener = Listener::start(r, b, &abstract_name);
    let mnt = r.file("mnt-probe");
    std::fs::create_dir_all(&mnt).unwrap();
    std::fs::set_permissions(&mnt, std::fs::Permissions::from_mode(0o777)).unwrap();
    let b_id = r.status_attr(b, "id").unwrap();
    let t = Targets {
        own_disk: r.file(&format!("{a}.img")),
        own_dir: domain_dir(r, a),
        other_disk: r.file(&format!("{b}.img")),
        other_qmp: r.file(&format!("run/qemu/domain-{b_id}-{b}/monitor.sock")),
        other_run_dir: r.file(&format!("run/qemu/domain-{b_id}-{b}")),
        other_pid: r.status_attr(b, "pid").unwrap(),
        root: r.path().to_path_buf(),
        other_name: b.to_string(),
        block: host.block.clone(),
        mnt,
        daemon_socket: host.daemon_socket.clone(),
        tcp_port: host.tcp_port,
        abstract_name,
    };
    let out = out_file(r, &format!("{a}.probe"));
    let mut args = vec!["probe".to_string()];
    args.extend(t.to_args());
    let status = launch(r, a, &out, &args).status().unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(status.success(), "the probe failed ({status}): {text}");
    let mut cells: BTreeMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let qemu = |path: &Path, node: &str| match r.qemu_opens(a, path, node) {
        Ok(()) => "ok".to_string(),
        Err(e) if e.contains("Permission denied") => "denied: EACCES".to_string(),
        Err(e) => format!("denied: {e}"),
    };
    cells.insert("qemu_other_disk".into(), qemu(&t.other_disk, "probe1"));
    cells.insert(
        "qemu_etc_shadow".into(),
        qemu(Path::new("/etc/shadow"), "probe2"),
    );
    cells
}

/// The first host block device that is not a loop, ram or zram device.
pub fn host_block_device() -> Option<PathBuf> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/block")
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !["loop", "ram", "zram", "nbd"]
                .iter()
                .any(|p| n.starts_with(p))
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| PathBuf::from(format!("/dev/{n}")))
        .find(|p| p.exists())
}
