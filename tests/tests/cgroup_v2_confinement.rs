//! End-to-end: the cgroup v2 device ACL (a BPF program) with a real guest.
//!
//! This host has both hierarchies, so the v2 path is forced with the test seam
//! `OXVIRT_CGROUP_DEVICES=v2` in the environment of `oxvirt` (the supervisor inherits
//! it). Checks what an administrator would: `/proc/PID/cgroup` of QEMU, the cgroup
//! directory under the cgroup2 mount, the journal, and that nothing is left after
//! `destroy`. Needs root.

use oxvirt_tests::harness::{self, guest_domain_xml, EmbedRoot, Out};
use oxvirt_tests::{guest, wait_for_file_contains, GUEST_CMDLINE, GUEST_READY_MARKER};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
const FORCE: &str = "OXVIRT_CGROUP_DEVICES";

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

/// An embedded root as root (no DAC user): the guest's kernel/initrd and a disk image.
struct Env(EmbedRoot);

impl Env {
    fn new() -> Env {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the cgroup tests need root: they create cgroups and attach BPF programs"
        );
        let root = EmbedRoot::new("oxc");
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/qemu.toml"), "").unwrap();
        let g = guest();
        std::fs::copy(&g.kernel, root.path().join("vmlinuz")).unwrap();
        std::fs::copy(&g.initrd, root.path().join("initrd")).unwrap();
        std::fs::File::create(root.path().join("disk.img"))
            .unwrap()
            .set_len(16 << 20)
            .unwrap();
        Env(root)
    }
    fn path(&self, f: &str) -> PathBuf {
        self.0.path().join(f)
    }
    /// Run `oxvirt` with the cgroup seam set to `force`, or unset.
    fn run(&self, args: &[&str], force: Option<&str>) -> Out {
        self.0.run_env(args, &[(FORCE, force)])
    }
    fn ok(&self, args: &[&str], force: Option<&str>) -> String {
        let o = self.run(args, force);
        assert_eq!(o.code, 0, "oxvirt {args:?}: {}{}", o.stdout, o.stderr);
        o.stdout
    }
    fn define(&self, name: &str) {
        let disk = format!(
            "<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>\
             <source file='{}'/><target dev='vda' bus='virtio'/></disk>",
            self.path("disk.img").display()
        );
        let xml = guest_domain_xml(
            name,
            GUEST_CMDLINE,
            &self.path(&format!("{name}.serial")),
            "",
        )
        .replace("<devices>", &disk);
        let f = self.0.write(&format!("{name}.xml"), &xml);
        self.ok(&["define", &f], None);
    }
    fn status_attr(&self, name: &str, attr: &str) -> Option<u32> {
        self.0.status_attr(name, attr)
    }
    fn wait_marker(&self, name: &str) {
        let p = self.path(&format!("{name}.serial"));
        assert!(
            wait_for_file_contains(&p, GUEST_READY_MARKER, BOOT_TIMEOUT),
            "no guest marker in {}",
            p.display()
        );
    }
}

fn wait_gone(pid: u32) -> bool {
    harness::wait_gone(pid, Duration::from_secs(10))
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
    assert_ne!(o.code, 0);
    let err = &o.stderr;
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
