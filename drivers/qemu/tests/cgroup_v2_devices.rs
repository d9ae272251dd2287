//! The cgroup v2 device ACL against the real kernel (root, a cgroup2 mount): a cgroup
//! whose program allows `/dev/null` and `/dev/zero` only, a shell moved into it, and what
//! the shell can open afterwards.

use oxvirt_driver_qemu::cgroup::{self, v2, DeviceRule};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn rule(dev: &str) -> DeviceRule {
    cgroup::rule_for(Path::new(dev), "rw").unwrap_or_else(|| panic!("{dev} is a device"))
}

/// A fresh cgroup path under the cgroup2 mount, removed on drop.
struct TestCgroup(PathBuf);

impl TestCgroup {
    fn new(tag: &str) -> TestCgroup {
        assert!(
            nix::unistd::geteuid().is_root(),
            "cgroup v2 device tests need root: they create cgroups and attach BPF programs"
        );
        let mount = v2::mount().expect("a cgroup2 mount in /proc/self/mountinfo");
        TestCgroup(
            mount
                .join("machine")
                .join(format!("oxvirt-test-{tag}-{}", std::process::id())),
        )
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = cgroup::remove(&self.0);
    }
}

#[test]
fn v2_program_allows_only_the_listed_devices() {
    let cg = TestCgroup::new("cgv2");
    v2::create(&cg.0, &[rule("/dev/null"), rule("/dev/zero")]).unwrap();
    assert!(cg.0.join("cgroup.procs").exists());

    // The shell waits for a line on stdin, by which time it is in the cgroup.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(
            "read go
             echo x > /dev/null && echo null-ok
             head -c1 /dev/zero > /dev/null && echo zero-ok
             head -c1 /dev/urandom 2>&1 > /dev/null || echo urandom-denied",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::fs::write(cgroup::procs_file(&cg.0), child.id().to_string()).unwrap();
    let own = std::fs::read_to_string(format!("/proc/{}/cgroup", child.id())).unwrap();
    let rel = cg.0.strip_prefix(v2::mount().unwrap()).unwrap();
    assert!(
        own.lines().any(|l| l == format!("0::/{}", rel.display())),
        "{own}"
    );
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(out.contains("null-ok\n"), "/dev/null allowed: {out}");
    assert!(out.contains("zero-ok\n"), "/dev/zero allowed: {out}");
    assert!(
        out.contains("Operation not permitted"),
        "/dev/urandom denied with EPERM: {out}"
    );
    assert!(out.contains("urandom-denied\n"), "{out}");

    // Nothing left once the shell is gone.
    cgroup::remove(&cg.0).unwrap();
    assert!(!cg.0.exists());
}

#[test]
fn v2_program_with_no_rules_denies_everything_and_bad_rules_leave_nothing() {
    let cg = TestCgroup::new("cgv2-deny");
    v2::create(&cg.0, &[]).unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("read go; exec 2>&1; true < /dev/null && echo null-ok || echo null-denied")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::fs::write(cgroup::procs_file(&cg.0), child.id().to_string()).unwrap();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let _ = child.wait();
    assert!(!out.contains("null-ok"), "{out}");
    assert!(out.contains("null-denied"), "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");
    cgroup::remove(&cg.0).unwrap();

    let bad = DeviceRule {
        kind: 'x',
        major: "1".into(),
        minor: "3".into(),
        access: "rw".into(),
    };
    let e = v2::create(&cg.0, &[bad]).unwrap_err();
    assert!(e.to_string().contains("device rule 'x 1:3 rw'"), "{e}");
    assert!(!cg.0.exists());
}
