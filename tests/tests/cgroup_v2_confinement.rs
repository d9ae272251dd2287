//! End-to-end: the cgroup v2 device ACL (a BPF program) with a real guest.
//!
//! This host has both hierarchies, so the v2 path is forced with the test seam
//! `OXVIRT_CGROUP_DEVICES=v2` in the environment of `oxvirt` (the supervisor inherits
//! it). Checks what an administrator would: `/proc/PID/cgroup` of QEMU, the cgroup
//! directory under the cgroup2 mount, the journal, and that nothing is left after
//! `destroy`. Needs root.

use oxvirt_tests::{guest, GUEST_CMDLINE, GUEST_READY_MARKER};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
const FORCE: &str = "OXVIRT_CGROUP_DEVICES";

fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join(name);
    assert!(
        p.is_file(),
        "{} missing: cargo build --workspace",
        p.display()
    );
    p
}

/// The first cgroup2 mount point in `/proc/self/mountinfo`.
fn cgroup2_mount() -> PathBuf {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines()
        .find_map(|l| {
            let (before, after) = l.split_once(" - ")?;
            (after.split(' ').next()? == "cgroup2").then(|| before.split(' ').nth(4))?
        })
        .map(PathBuf::from)
        .expect("a cgroup2 mount")
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the cgroup tests need root: they create cgroups and attach BPF programs"
        );
        let dir = tempfile::Builder::new()
            .prefix("oxc")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/qemu.toml"), "").unwrap();
        let g = guest();
        std::fs::copy(&g.kernel, dir.path().join("vmlinuz")).unwrap();
        std::fs::copy(&g.initrd, dir.path().join("initrd")).unwrap();
        std::fs::File::create(dir.path().join("disk.img"))
            .unwrap()
            .set_len(16 << 20)
            .unwrap();
        Env { dir }
    }
    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }
    fn run(&self, args: &[&str], force: Option<&str>) -> std::process::Output {
        let mut cmd = Command::new(bin("oxvirt"));
        cmd.arg("-c")
            .arg(format!("qemu:///embed?root={}", self.dir.path().display()))
            .args(args);
        match force {
            Some(v) => cmd.env(FORCE, v),
            None => cmd.env_remove(FORCE),
        };
        cmd.output().unwrap()
    }
    fn ok(&self, args: &[&str], force: Option<&str>) -> String {
        let o = self.run(args, force);
        assert!(
            o.status.success(),
            "oxvirt {args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
    fn define(&self, name: &str) {
        let xml = format!(
            "<domain type='qemu'><name>{name}</name><memory unit='MiB'>256</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{k}</kernel><initrd>{i}</initrd>
  <cmdline>{GUEST_CMDLINE}</cmdline></os><features><acpi/></features>
  <devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{d}/disk.img'/><target dev='vda' bus='virtio'/></disk>
  <serial type='file'><source path='{d}/{name}.serial'/><target port='0'/></serial></devices>
</domain>",
            k = self.path("vmlinuz").display(),
            i = self.path("initrd").display(),
            d = self.dir.path().display()
        );
        let f = self.path(&format!("{name}.xml"));
        std::fs::write(&f, xml).unwrap();
        self.ok(&["define", f.to_str().unwrap()], None);
    }
    fn status_attr(&self, name: &str, attr: &str) -> Option<u32> {
        let text = std::fs::read_to_string(self.path(&format!("run/qemu/{name}.xml"))).ok()?;
        let key = format!("{attr}='");
        let start = text.find(&key)? + key.len();
        let end = start + text[start..].find('\'')?;
        text[start..end].parse().ok()
    }
    fn wait_marker(&self, name: &str) {
        let p = self.path(&format!("{name}.serial"));
        let deadline = Instant::now() + BOOT_TIMEOUT;
        while Instant::now() < deadline {
            if std::fs::read_to_string(&p)
                .map(|t| t.contains(GUEST_READY_MARKER))
                .unwrap_or(false)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no guest marker in {}", p.display());
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Ok(rd) = std::fs::read_dir(self.path("run/qemu")) {
            for e in rd.flatten() {
                if let Some(n) = e.file_name().to_string_lossy().strip_suffix(".xml") {
                    let _ = self.run(&["destroy", n], None);
                }
            }
        }
    }
}

fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit_once(')')
            .map(|(_, r)| r.trim_start().starts_with('Z'))
            .unwrap_or(true),
    }
}

fn wait_gone(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !gone(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    gone(pid)
}

#[test]
fn boot_cgroup_v2_puts_qemu_in_a_device_program_cgroup_and_removes_it() {
    let env = Env::new();
    env.define("cgv2");
    env.ok(&["start", "cgv2"], Some("v2"));
    env.wait_marker("cgv2");
    let pid = env.status_attr("cgv2", "pid").unwrap();

    // QEMU is in machine/oxvirt-qemu-ID-NAME-HASH of the v2 hierarchy, and in no
    // VM cgroup of the v1 devices controller.
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let rel = own
        .lines()
        .find_map(|l| l.strip_prefix("0::/"))
        .unwrap_or_else(|| panic!("no v2 line: {own}"));
    assert!(rel.starts_with("machine/oxvirt-qemu-"), "{own}");
    assert!(rel.contains("-cgv2-"), "{own}");
    assert!(
        !own.lines()
            .any(|l| l.contains(":devices:") && l.contains("oxvirt-qemu-")),
        "{own}"
    );
    let cg = cgroup2_mount().join(rel);
    assert!(cg.is_dir(), "{}", cg.display());
    let procs = std::fs::read_to_string(cg.join("cgroup.procs")).unwrap();
    assert_eq!(procs.trim(), pid.to_string(), "only QEMU in the cgroup");

    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.path("run/qemu/cgv2.journal")).unwrap()).unwrap();
    assert_eq!(j["cgroup_kind"], "v2", "{j}");
    assert_eq!(j["cgroup"].as_str(), cg.to_str());

    // The guest runs (its serial file, /dev/null etc. are usable inside the ACL).
    assert_eq!(env.ok(&["domstate", "cgv2"], None).trim(), "running");

    // The program is in force: a shell moved into QEMU's cgroup may open a device of
    // the default ACL, but not /dev/kmsg (c 1:11, not in it).
    let mut sh = Command::new("sh")
        .arg("-c")
        .arg("read go; exec 2>&1; true < /dev/urandom && echo urandom-ok; true < /dev/kmsg || echo kmsg-denied")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::fs::write(cg.join("cgroup.procs"), sh.id().to_string()).unwrap();
    std::io::Write::write_all(&mut sh.stdin.take().unwrap(), b"go\n").unwrap();
    let out = sh.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.contains("urandom-ok\n"), "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(out.contains("kmsg-denied\n"), "{out}");

    env.ok(&["destroy", "cgv2"], None);
    assert!(wait_gone(pid));
    assert!(!cg.exists(), "cgroup {} removed", cg.display());
    assert!(!env.path("run/qemu/cgv2.journal").exists());
}

#[test]
fn cgroup_seam_with_an_unknown_value_refuses_to_start_and_leaves_nothing() {
    let env = Env::new();
    env.define("seam");
    let o = env.run(&["start", "seam"], Some("v3"));
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("OXVIRT_CGROUP_DEVICES='v3'"), "{err}");
    assert!(!env.path("run/qemu/seam.journal").exists());
    assert!(!env.path("run/qemu/seam.xml").exists());
}

#[test]
fn boot_cgroup_v2_recovery_removes_the_cgroup_when_everything_is_killed() {
    let env = Env::new();
    env.define("cgv2crash");
    env.ok(&["start", "cgv2crash"], Some("v2"));
    let pid = env.status_attr("cgv2crash", "pid").unwrap();
    let sup = env.status_attr("cgv2crash", "supervisor").unwrap();
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let rel = own.lines().find_map(|l| l.strip_prefix("0::/")).unwrap();
    let cg = cgroup2_mount().join(rel);
    assert!(rel.starts_with("machine/oxvirt-qemu-"), "{own}");
    // The supervisor first (nobody cleans up), then QEMU.
    for p in [sup, pid] {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p as i32),
            nix::sys::signal::SIGKILL,
        )
        .unwrap();
        assert!(wait_gone(p));
    }
    assert!(cg.exists(), "nobody was left to remove {}", cg.display());
    // The next process to open the root replays the journal, without the seam: the
    // journal says which cgroup it was.
    assert_eq!(
        env.ok(&["domstate", "--reason", "cgv2crash"], None).trim(),
        "shut off (unknown)"
    );
    assert!(
        !cg.exists(),
        "cgroup {} removed by the recovery",
        cg.display()
    );
    assert!(!env.path("run/qemu/cgv2crash.journal").exists());
}
