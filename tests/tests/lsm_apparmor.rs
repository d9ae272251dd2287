//! The LSM test VM with AppArmor (scripts/lsm-vm, docs/testing.md): the kernel runs
//! AppArmor, `apparmor_parser` loads profiles for real, `aa-exec -p` confines a process,
//! and QEMU runs under a profile that lets it open one disk image and not another.

use oxvirt_tests::lsm_vm::{assert_disk_probe, Lsm, VmCommand, VmOutput};

/// Reads of /tmp/lsmtest/public only; `audit deny` makes the denial of secret explicit
/// and logged.
const DENY_PROFILE: &str = r#"abi <abi/3.0>,
include <tunables/global>
profile lsmtest-deny {
  include <abstractions/base>
  /usr/bin/cat rix,
  owner @{PROC}/@{pid}/attr/current r,
  /tmp/lsmtest/public r,
  audit deny /tmp/lsmtest/secret r,
}
"#;

const DENY_SCRIPT: &str = r#"set -eu
echo "lsm: $(cat /sys/kernel/security/lsm)"
mkdir -p /tmp/lsmtest
echo public >/tmp/lsmtest/public
echo secret >/tmp/lsmtest/secret
apparmor_parser -r "$LSMVM_FILES/deny.profile"
echo "loaded: $(cat /sys/kernel/security/apparmor/profiles)"
echo "root reads secret: $(cat /tmp/lsmtest/secret)"
echo "confined reads public: $(aa-exec -p lsmtest-deny -- cat /tmp/lsmtest/public)"
echo "confined label: $(aa-exec -p lsmtest-deny -- cat /proc/self/attr/current)"
if aa-exec -p lsmtest-deny -- cat /tmp/lsmtest/secret 2>/tmp/lsmtest/err; then
    echo "confined reads secret: yes"
else
    echo "confined reads secret: no: $(cat /tmp/lsmtest/err)"
fi
"#;

#[test]
fn lsm_apparmor_profile_denies_a_read_that_root_may_do() {
    let out = VmCommand::shell(Lsm::AppArmor, DENY_SCRIPT)
        .file("deny.profile", DENY_PROFILE)
        .run();
    out.assert_success();
    let field = |k: &str| {
        out.field(k)
            .unwrap_or_else(|| panic!("no `{k}:` line\n{out}"))
    };

    let lsms: Vec<&str> = field("lsm").split(',').collect();
    assert!(
        lsms.contains(&"apparmor"),
        "AppArmor is not active: {lsms:?}\n{out}"
    );
    assert!(
        !lsms.contains(&"selinux"),
        "SELinux is active too: {lsms:?}"
    );
    assert!(field("loaded").contains("lsmtest-deny (enforce)"), "{out}");
    assert_eq!(field("root reads secret"), "secret");
    assert_eq!(field("confined reads public"), "public");
    assert_eq!(field("confined label"), "lsmtest-deny (enforce)");
    assert_eq!(
        field("confined reads secret"),
        "no: cat: /tmp/lsmtest/secret: Permission denied",
        "aa-exec must give EACCES\n{out}"
    );
    assert_denied(&out, "lsmtest-deny", "/tmp/lsmtest/secret");
}

/// QEMU's needs for `-machine none` with one file-backed block node and a QMP socket.
const QEMU_PROFILE: &str = r#"abi <abi/3.0>,
include <tunables/global>
profile lsmtest-qemu {
  include <abstractions/base>
  /usr/bin/qemu-system-x86_64 mrix,
  /usr/share/qemu/** r,
  /usr/share/seabios/** r,
  /usr/lib/x86_64-linux-gnu/qemu/* mr,
  /var/lib/lsmtest/a.img rwk,
  /var/lib/lsmtest/run/qmp.sock rw,
  /var/lib/lsmtest/run/qemu.log w,
}
"#;

/// The disk probe (`lsm_vm::VmCommand::with_disk_probe`) under `aa-exec`.
const QEMU_SCRIPT: &str = r#"set -eu
d=/var/lib/lsmtest
mkdir -p $d
for n in a b; do head -c 1048576 /dev/zero >$d/$n.img; done
apparmor_parser -r "$LSMVM_FILES/qemu.profile"
sh "$LSMVM_FILES/probe.sh" - aa-exec -p lsmtest-qemu --
"#;

#[test]
fn lsm_apparmor_qemu_runs_under_a_profile_and_opens_only_its_disk() {
    let out = VmCommand::shell(Lsm::AppArmor, QEMU_SCRIPT)
        .file("qemu.profile", QEMU_PROFILE)
        .with_disk_probe()
        .run();
    out.assert_success();
    assert_eq!(out.field("label"), Some("lsmtest-qemu (enforce)"), "{out}");
    assert_eq!(out.field("exe"), Some("/usr/bin/qemu-system-x86_64"));
    assert_disk_probe(&out);
    assert_denied(&out, "lsmtest-qemu", "/var/lib/lsmtest/b.img");
}

/// The kernel logged AppArmor's denial of `name` under `profile`.
#[track_caller]
fn assert_denied(out: &VmOutput, profile: &str, name: &str) {
    let lines = out.kernel_log_lines(&[
        "apparmor=\"DENIED\"",
        "operation=\"open\"",
        &format!("profile=\"{profile}\""),
        &format!("name=\"{name}\""),
    ]);
    assert!(
        !lines.is_empty(),
        "no AppArmor denial of {name} in the kernel log\n{out}"
    );
}
