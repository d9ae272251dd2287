//! The LSM test VM itself (scripts/lsm-vm, docs/testing.md), with no major LSM: what
//! COMMAND finds inside (the host's userspace, the checkout read-only, writable /tmp /var
//! /run /root with xattrs, the host's cgroup layout, /dev, a runnable QEMU), that its
//! status, stdout and stderr come back apart, and that each way a run can fail has its
//! own exit status and a message naming it.

use oxvirt_tests::lsm_vm::{script, Lsm, VmCommand, VmExit};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the checkout")
}

const INSIDE_SCRIPT: &str = r#"echo "lsm: $(cat /sys/kernel/security/lsm)"
echo "uid: $(id -u)"
echo "cwd: $(pwd)"
echo "env: ${LSMVM_TEST_VALUE:-unset}"
echo "qemu: $(sha256sum /usr/bin/qemu-system-x86_64 | cut -d' ' -f1)"
if touch "$CHECKOUT/.lsm-vm-probe" 2>/dev/null; then echo "checkout: writable"; else echo "checkout: read-only"; fi
for d in /tmp /var/tmp /var/lib /run /root; do
    : >"$d/probe" && echo "writable: $d"
done
python3 -c '
import os
p = "/var/lib/probe"
os.setxattr(p, "trusted.lsmvm", b"1")
os.setxattr(p, "security.lsmvm", b"1")
print("xattrs:", ",".join(sorted(os.listxattr(p))))'
echo "cgroups: $(awk '{ for (i = 7; $i != "-"; i++); if ($5 ~ "^/sys/fs/cgroup") print $5 "=" $(i+1) }' /proc/self/mountinfo | sort | paste -sd' ')"
for n in null zero full random urandom tty ptmx; do [ -c /dev/$n ] && echo "device: $n"; done
echo "qmp: $(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-status"}' '{"execute":"quit"}' |
    qemu-system-x86_64 -S -machine none -display none -nodefaults -qmp stdio | grep -c '"return"')"
echo to-stderr >&2
exit 7
"#;

#[test]
fn lsm_harness_runs_command_in_the_host_userspace() {
    let out = VmCommand::shell(Lsm::None, INSIDE_SCRIPT)
        .env("LSMVM_TEST_VALUE", "it's \"quoted\" $HOME")
        .env("CHECKOUT", &checkout().to_string_lossy())
        .run();
    assert_eq!(
        out.exit,
        VmExit::Exited(7),
        "COMMAND's status comes back\n{out}"
    );
    assert_eq!(out.stderr, "to-stderr\n", "stderr apart from stdout\n{out}");
    let field = |k: &str| {
        out.field(k)
            .unwrap_or_else(|| panic!("no `{k}:` line\n{out}"))
    };

    let lsms: Vec<&str> = field("lsm").split(',').collect();
    assert!(lsms.contains(&"landlock"), "{lsms:?}");
    assert!(
        !lsms.contains(&"selinux") && !lsms.contains(&"apparmor"),
        "{lsms:?}"
    );
    assert_eq!(field("uid"), "0");
    let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
    assert_eq!(
        field("cwd"),
        cwd.to_string_lossy(),
        "the caller's directory"
    );
    assert_eq!(field("env"), "it's \"quoted\" $HOME");
    assert_eq!(
        field("qemu"),
        host_sha256("/usr/bin/qemu-system-x86_64"),
        "the host's QEMU"
    );
    assert_eq!(field("checkout"), "read-only");
    assert_eq!(
        out.lines_with("writable"),
        ["/tmp", "/var/tmp", "/var/lib", "/run", "/root"]
    );
    assert_eq!(field("xattrs"), "security.lsmvm,trusted.lsmvm");
    assert_eq!(field("cgroups"), host_cgroups(), "the host's cgroup layout");
    assert_eq!(
        out.lines_with("device"),
        ["null", "zero", "full", "random", "urandom", "tty", "ptmx"]
    );
    assert_eq!(field("qmp"), "3", "QEMU answered three QMP commands\n{out}");
    assert!(
        out.started_after.is_some_and(|t| t > 0.0),
        "the guest's uptime at COMMAND\n{out}"
    );
}

fn host_sha256(path: &str) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `MOUNTPOINT=FSTYPE` of the host's mounts under /sys/fs/cgroup, sorted, as the script
/// prints them.
fn host_cgroups() -> String {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let mut mounts: Vec<String> = mountinfo
        .lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split(' ').collect();
            let dash = fields.iter().position(|f| *f == "-")?;
            let (point, fstype) = (fields.get(4)?, fields.get(dash + 1)?);
            point
                .starts_with("/sys/fs/cgroup")
                .then(|| format!("{point}={fstype}"))
        })
        .collect();
    mounts.sort();
    mounts.join(" ")
}

#[test]
fn lsm_harness_timeout_kills_the_vm() {
    let out = VmCommand::new(Lsm::None, &["sleep", "600"])
        .timeout(Duration::from_secs(5))
        .run();
    assert_eq!(out.exit, VmExit::Timeout, "{out}");
    assert!(
        out.harness.contains("lsm-vm: timeout: ") && out.harness.contains("within 5s"),
        "{out}"
    );
}

#[test]
fn lsm_harness_kernel_panic_is_reported() {
    let out = VmCommand::shell(Lsm::None, "echo c >/proc/sysrq-trigger; sleep 600").run();
    assert_eq!(out.exit, VmExit::KernelPanic, "{out}");
    assert!(
        out.harness.contains("lsm-vm: kernel panic in the VM: ")
            && out.harness.contains("sysrq triggered crash"),
        "{out}"
    );
}

#[test]
fn lsm_harness_vm_stopping_under_command_is_a_vm_failure() {
    let out = VmCommand::shell(Lsm::None, "echo o >/proc/sysrq-trigger; sleep 600").run();
    assert_eq!(out.exit, VmExit::BootFailure, "{out}");
    assert!(
        out.harness.contains("the VM stopped while COMMAND ran"),
        "{out}"
    );
}

#[test]
fn lsm_harness_qemu_refusing_to_start_is_a_boot_failure() {
    let out = VmCommand::new(Lsm::None, &["true"]).cpus(100_000).run();
    assert_eq!(out.exit, VmExit::BootFailure, "{out}");
    assert!(
        out.harness.contains("boot failure: QEMU exited") && out.harness.contains("CPUs"),
        "QEMU's own message is passed on\n{out}"
    );
}

#[test]
fn lsm_harness_usage_and_missing_preparation_have_their_own_statuses() {
    let run = |args: &[&str], target: &Path| {
        let out = Command::new("bash")
            .arg(script())
            .args(args)
            .env("CARGO_TARGET_DIR", target)
            .output()
            .expect("bash scripts/lsm-vm");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let empty = tempfile::tempdir().unwrap();
    let (code, msg) = run(&["smack", "--", "true"], empty.path());
    assert_eq!(code, Some(2), "{msg}");
    assert!(msg.contains("unknown argument 'smack'"), "{msg}");
    let (code, msg) = run(&["apparmor"], empty.path());
    assert_eq!(code, Some(2), "{msg}");
    assert!(msg.contains("no COMMAND"), "{msg}");
    let (code, msg) = run(&["none", "--", "true"], empty.path());
    assert_eq!(code, Some(240), "{msg}");
    assert!(msg.contains("run 'scripts/lsm-vm prepare'"), "{msg}");
}
