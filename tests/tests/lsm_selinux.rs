//! The LSM test VM with SELinux (scripts/lsm-vm, docs/testing.md): Debian's
//! `selinux-policy-default` loaded and enforcing, the host's /usr and /etc with their real
//! labels, COMMAND in the harness domain `virtd_t` (the one permissive domain), and
//! `svirt_t` enforced: a confined process is denied a file of another type, and QEMU in
//! `svirt_t:s0:c1,c2` opens the image of its own categories but not one of `c3,c4`.

use oxvirt_tests::lsm_vm::{assert_avc, assert_disk_probe, Lsm, VmCommand};

/// The probe is a copy of `cat` labelled `qemu_exec_t`, `svirt_t`'s entrypoint; its
/// output goes to files of its own label (it may not write the harness's pipes, which
/// carry the harness's `s0-s0:c0.c1023`).
const RUNCON_SCRIPT: &str = r#"set -eu
echo "enforce: $(getenforce)"
echo "lsm: $(cat /sys/kernel/security/lsm)"
echo "harness: $(id -Z)"
d=/var/lib/lsmtest
mkdir -p $d
echo payload >$d/own.img
echo secret >$d/home-file
cp /usr/bin/cat $d/probe
: >$d/out
: >$d/err
chcon system_u:object_r:svirt_image_t:s0:c1,c2 $d/own.img $d/out $d/err
chcon system_u:object_r:user_home_t:s0 $d/home-file
chcon system_u:object_r:qemu_exec_t:s0 $d/probe
echo "home-file label: $(stat -c %C $d/home-file)"
probe() {
    s=0
    runcon system_u:system_r:svirt_t:s0:c1,c2 $d/probe "$1" >$d/out 2>$d/err || s=$?
    echo "$s $(cat $d/out $d/err)"
}
echo "outside reads: $(cat $d/home-file)"
echo "confined label: $(probe /proc/self/attr/current | tr -d '\0')"
echo "confined reads own image: $(probe $d/own.img)"
echo "confined reads home-file: $(probe $d/home-file)"
"#;

#[test]
fn lsm_selinux_enforcing_and_a_confined_domain_is_denied_another_type() {
    let out = VmCommand::shell(Lsm::SELinux, RUNCON_SCRIPT).run();
    out.assert_success();
    let field = |k: &str| {
        out.field(k)
            .unwrap_or_else(|| panic!("no `{k}:` line\n{out}"))
    };

    assert_eq!(field("enforce"), "Enforcing", "{out}");
    let lsms: Vec<&str> = field("lsm").split(',').collect();
    assert!(lsms.contains(&"selinux"), "SELinux is not active: {lsms:?}");
    assert!(
        !lsms.contains(&"apparmor"),
        "AppArmor is active too: {lsms:?}"
    );
    assert_eq!(field("harness"), "system_u:system_r:virtd_t:s0-s0:c0.c1023");
    assert_eq!(field("home-file label"), "system_u:object_r:user_home_t:s0");
    assert_eq!(field("outside reads"), "secret");
    assert_eq!(
        field("confined label"),
        "0 system_u:system_r:svirt_t:s0:c1,c2"
    );
    assert_eq!(field("confined reads own image"), "0 payload");
    let denied = field("confined reads home-file");
    assert!(
        denied.starts_with("1 ") && denied.ends_with("home-file: Permission denied"),
        "the confined read must fail with EACCES: {denied}\n{out}"
    );
    // The denial is the policy's, and svirt_t is enforced (not a permissive domain).
    assert_avc(
        &out,
        &[
            "{ read }",
            "name=\"home-file\"",
            "scontext=system_u:system_r:svirt_t:s0:c1,c2",
            "tcontext=system_u:object_r:user_home_t:s0",
            "tclass=file",
        ],
    );
}

/// The disk probe (`lsm_vm::VmCommand::with_disk_probe`) in `svirt_t:s0:c1,c2`: a.img
/// carries its categories, b.img another VM's, the QMP client's socket `virtd_t` at the
/// VM's level. TCG needs `virt_use_execmem` (Debian's policy has no separate TCG domain).
const QEMU_SCRIPT: &str = r#"set -eu
d=/var/lib/lsmtest
mkdir -p $d/run
for n in a b; do head -c 1048576 /dev/zero >$d/$n.img; done
: >$d/run/qemu.log
chcon system_u:object_r:svirt_image_t:s0:c1,c2 $d/a.img
chcon system_u:object_r:svirt_image_t:s0:c3,c4 $d/b.img
chcon -R system_u:object_r:svirt_runtime_t:s0:c1,c2 $d/run
setsebool virt_use_execmem 1
echo "emulator label: $(stat -c %C /usr/bin/qemu-system-x86_64)"
sh "$LSMVM_FILES/probe.sh" system_u:system_r:virtd_t:s0:c1,c2 \
    runcon system_u:system_r:svirt_t:s0:c1,c2
"#;

#[test]
fn lsm_selinux_qemu_in_svirt_t_opens_its_categories_image_only() {
    let out = VmCommand::shell(Lsm::SELinux, QEMU_SCRIPT)
        .with_disk_probe()
        .run();
    out.assert_success();
    let field = |k: &str| {
        out.field(k)
            .unwrap_or_else(|| panic!("no `{k}:` line\n{out}"))
    };

    // The pitfall: the emulator and everything it mapped carry real labels.
    assert_eq!(field("emulator label"), "system_u:object_r:qemu_exec_t:s0");
    let mapped = out.lines_with("mapped");
    assert!(mapped.len() > 5, "QEMU's mapped files\n{out}");
    for line in &mapped {
        let label = line.split(' ').next().unwrap_or_default();
        assert!(
            ["qemu_exec_t", "lib_t", "ld_so_t", "textrel_shlib_t"]
                .iter()
                .any(|t| label == format!("system_u:object_r:{t}:s0")),
            "QEMU mapped a file without a real label: {line}\n{out}"
        );
    }

    assert!(
        field("ps").starts_with("system_u:system_r:svirt_t:s0:c1,c2 ")
            && field("ps").ends_with("qemu-system-x86"),
        "ps -eZ: {}",
        field("ps")
    );
    assert_eq!(field("label"), "system_u:system_r:svirt_t:s0:c1,c2");
    assert_disk_probe(&out);
    assert_avc(
        &out,
        &[
            "name=\"b.img\"",
            "scontext=system_u:system_r:svirt_t:s0:c1,c2",
            "tcontext=system_u:object_r:svirt_image_t:s0:c3,c4",
            "tclass=file",
        ],
    );
}
