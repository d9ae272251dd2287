//! The SELinux backend for real: in the LSM test VM (SELinux enforcing, `svirt_t`
//! enforced, the harness in the permissive `virtd_t`), VMs started with the built
//! `oxvirt` through `qemu:///embed` with `security_driver = "selinux"` (DAC stacked, as
//! root). QEMU's guest does not boot (no OS, TCG in TCG): QEMU runs with its disks
//! open, which is what the labels are about.
//!
//! - two VMs: QEMU in `svirt_t` with different category pairs (`ps -eZ`), the disks with
//!   the matching image labels (`ls -Z`), a read-only image both use with the content
//!   label; a probe exec'd in VM A's label reads A's disk and is denied (EACCES + an
//!   enforced AVC) B's disk, `/etc/shadow` and a `user_home_t` file; QEMU A's own
//!   monitor can open its disk but `blockdev-add` of B's disk and a connection to B's
//!   QMP socket fail; after destroy, a QMP `quit` (the path a guest poweroff takes:
//!   QEMU exits, the supervisor restores) and a SIGKILL of QEMU every label is back
//!   and no `trusted.libvirt.security.*` is left;
//! - static label without relabel, `type='none'`, a per-disk `relabel='no'`, and the
//!   manager SIGKILLed: with QEMU (re-open recovers) and alone (re-open re-adopts, the
//!   monitor still works, destroy restores).

use oxvirt_tests::harness::built_binary;
use oxvirt_tests::lsm_vm::{assert_avc, Lsm, VmCommand, VmOutput};

/// Shared by both scripts: the root, images, `mkvm NAME DISK-XML [SECLABEL-XML]`,
/// `labels NAME...` and `xattrs NAME...` report lines.
const COMMON: &str = r#"set -u
B=$OXVIRT_BIN
setsebool virt_use_execmem 1
D=/var/lib/oxt; R=$D/root; I=$D/img
U="qemu:///embed?root=$R"
mkdir -p $R/etc $I
printf 'security_driver = "selinux"\n' >$R/etc/qemu.toml
ox() { $B/oxvirt -c "$U" "$@"; }
disk() { echo "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$I/$1.img'>$3</source><target dev='$2' bus='virtio'/>$4</disk>"; }
mkvm() {
    echo "<domain type='qemu'><name>$1</name><memory unit='MiB'>32</memory><os><type>hvm</type></os>${3:-}<devices>$2</devices></domain>" >/tmp/$1.xml
    ox define /tmp/$1.xml >/dev/null && ox start $1 >/dev/null && echo "started: $1"
}
img() { for n in "$@"; do head -c 1048576 /dev/zero >$I/$n.img; done; }
labels() { w=$1; shift; for n in "$@"; do echo "label $w $n: $(stat -c %C $I/$n.img)"; done; }
xattrs() { for n in "$@"; do echo "trusted $n: $(python3 -c 'import os,sys; print(",".join(x for x in os.listxattr(sys.argv[1]) if x.startswith("trusted.")) or "none")' $I/$n.img)"; done; }
qemu_of() { pgrep -f "^/usr/bin/qemu-system-x86_64 -name guest=$1,"; }
ctx_of() { tr -d '\0' </proc/$(qemu_of $1)/attr/current; }
gone() { for i in $(seq 50); do [ -z "$(qemu_of $1)" ] && ox domstate $1 2>/dev/null | grep -q 'shut off' && return; sleep 0.5; done; echo "still running: $1"; }
"#;

const TWO_VMS: &str = r#"
img a b base
echo "original: $(stat -c %C $I/a.img)"
ro=$(disk base vdb '' '<readonly/>')
mkvm a "$(disk a vda '' '')$ro"
mkvm b "$(disk b vda '' '')$ro"
ps -eZ | grep qemu-system | tr -s ' ' | sed 's/^/ps: /'
echo "ctx a: $(ctx_of a)"
echo "ctx b: $(ctx_of b)"
labels running a b base
echo "dominfo: $(ox dominfo a | grep 'Security label')"
ox dumpxml a | grep -A2 "<seclabel type='dynamic' model='selinux'" | tr -d ' ' | sed 's/^/xml: /'
ox capabilities | tr -d '\n ' | sed 's/.*\(<secmodel><model>selinux.*\)<\/host>.*/caps: \1/'; echo
# The probe: a copy of cat labelled qemu_exec_t (svirt_t's entrypoint), exec'd in A's
# label; its output goes to files of A's image label (it may not write the harness's).
p=$D/probe; cp /usr/bin/cat $p; chcon system_u:object_r:qemu_exec_t:s0 $p
echo secret >$D/home-file; chcon system_u:object_r:user_home_t:s0 $D/home-file
: >$D/out; : >$D/err
chcon "$(stat -c %C $I/a.img)" $D/out $D/err
probe() { s=0; runcon "$(ctx_of a)" $p "$2" >$D/out 2>$D/err || s=$?; echo "probe $1: $s $(cat $D/err)"; }
probe own $I/a.img
probe other $I/b.img
probe shadow /etc/shadow
probe home $D/home-file
bsock=$(ls $R/run/qemu/domain-*-b/monitor.sock)
mon() { ox qemu-monitor-command a "$1" 2>&1 | tr -d '\n' | sed 's/^/monitor: /'; echo; }
mon '{"execute":"blockdev-add","arguments":{"driver":"file","node-name":"own","filename":"'$I/a.img'","read-only":true}}'
mon '{"execute":"blockdev-add","arguments":{"driver":"file","node-name":"other","filename":"'$I/b.img'","read-only":true}}'
mon '{"execute":"chardev-add","arguments":{"id":"peer","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{"path":"'$bsock'"}},"server":false}}}}'
ox destroy a >/dev/null
ox qemu-monitor-command b '{"execute":"quit"}' >/dev/null 2>&1
gone a; gone b
labels stopped a b base
xattrs a b base
ox start b >/dev/null
kill -9 $(qemu_of b)
gone b
labels killed b
xattrs b
echo "mcs: $(cat $R/run/qemu/selinux-mcs 2>/dev/null | wc -l)"
"#;

const OTHER_LABELS: &str = r#"
img s n p q k j
chcon system_u:object_r:svirt_image_t:s0:c900,c901 $I/s.img
chcon system_u:object_r:svirt_image_t:s0 $I/q.img
echo "original: $(stat -c %C $I/n.img)"
# One VM at a time: QEMU under TCG in TCG is slow.
mkvm s "$(disk s vda '' '')" "<seclabel type='static' model='selinux' relabel='no'><label>system_u:system_r:svirt_t:s0:c900,c901</label></seclabel>"
echo "ctx s: $(ctx_of s)"
labels running s
ox destroy s >/dev/null; gone s
mkvm n "$(disk n vda '' '')" "<seclabel type='none' model='selinux'/>"
echo "ctx n: $(ctx_of n)"
labels running n
ox destroy n >/dev/null; gone n
mkvm p "$(disk p vda '' '')$(disk q vdb "<seclabel model='selinux' relabel='no'/>" '')"
echo "ctx p: $(ctx_of p)"
labels running p q
ox destroy p >/dev/null; gone p
labels stopped s n p q
# The manager killed with QEMU: the next open recovers from the journal.
mkvm k "$(disk k vda '' '')"
labels running k
sup() { sed -n "s/.*supervisor='\([0-9]*\)'.*/\1/p" $R/run/qemu/$1.xml; }
kill -9 $(sup k) $(qemu_of k)
sleep 1
ox list --all >/dev/null
labels recovered k
xattrs k
# The manager killed alone: the next open re-adopts QEMU.
mkvm j "$(disk j vda '' '')"
before=$(ctx_of j)
kill -9 $(sup j)
sleep 1
ox list --all >/dev/null
echo "adopted: $(ox domstate j) $([ "$(ctx_of j)" = "$before" ] && echo same-label)"
ox qemu-monitor-command j '{"execute":"query-status"}' | tr -d '\n' | sed 's/^/monitor j: /'; echo
ox destroy j >/dev/null; gone j
labels stopped j
xattrs j
echo "mcs: $(cat $R/run/qemu/selinux-mcs 2>/dev/null | wc -l)"
"#;

fn run(script: &str) -> VmOutput {
    let oxvirt = built_binary("oxvirt");
    let bin = oxvirt.parent().unwrap().to_str().unwrap().to_string();
    VmCommand::shell(Lsm::SELinux, &format!("{COMMON}{script}"))
        .env("OXVIRT_BIN", &bin)
        .run()
}

#[track_caller]
fn field<'a>(out: &'a VmOutput, k: &str) -> &'a str {
    out.field(k)
        .unwrap_or_else(|| panic!("no `{k}:` line\n{out}"))
}

/// `system_u:system_r:svirt_t:s0:cA,cB` → `s0:cA,cB`.
fn level(ctx: &str) -> &str {
    ctx.splitn(4, ':').nth(3).unwrap_or("")
}

#[test]
fn lsm_selinux_two_vms_get_own_categories_and_cannot_reach_each_other() {
    let out = run(TWO_VMS);
    let (ca, cb) = (field(&out, "ctx a"), field(&out, "ctx b"));
    assert_running_labels(&out, ca, cb);
    assert_a_cannot_reach_b(&out, ca, cb);
    assert_labels_given_back(&out);
}

/// Each VM runs in its own category pair; its images carry that pair.
fn assert_running_labels(out: &VmOutput, ca: &str, cb: &str) {
    for c in [ca, cb] {
        assert!(
            c.starts_with("system_u:system_r:svirt_t:s0:c"),
            "{c}\n{out}"
        );
    }
    assert_ne!(level(ca), level(cb), "two VMs, one pair\n{out}");
    assert_eq!(out.lines_with("ps").len(), 2, "{out}");
    assert!(
        out.lines_with("ps").iter().any(|l| l.starts_with(ca)),
        "{out}"
    );
    let image = |c: &str| format!("system_u:object_r:svirt_image_t:{}", level(c));
    assert_eq!(field(out, "label running a"), image(ca));
    assert_eq!(field(out, "label running b"), image(cb));
    assert_eq!(
        field(out, "label running base"),
        "system_u:object_r:virt_content_t:s0"
    );
    assert_eq!(
        field(out, "dominfo"),
        format!("Security label: {ca} (enforcing)")
    );
    let xml = out.lines_with("xml").join("");
    assert!(
        xml.contains(&format!("<label>{ca}</label>"))
            && xml.contains(&format!("<imagelabel>{}</imagelabel>", image(ca))),
        "{out}"
    );
    assert!(
        field(out, "caps").contains("<doi>0</doi><baselabeltype='kvm'>system_u:system_r:svirt_t:s0</baselabel><baselabeltype='qemu'>system_u:system_r:svirt_t:s0</baselabel>"),
        "{out}"
    );
}

/// QEMU A, probed by file opens and by its own monitor, reaches only its own disk.
fn assert_a_cannot_reach_b(out: &VmOutput, ca: &str, cb: &str) {
    let image = |c: &str| format!("system_u:object_r:svirt_image_t:{}", level(c));
    assert_eq!(field(out, "probe own").trim(), "0", "{out}");
    for (probe, target) in [
        ("other", "b.img"),
        ("shadow", "shadow"),
        ("home", "home-file"),
    ] {
        let got = field(out, &format!("probe {probe}"));
        assert!(
            got.starts_with("1 ") && got.ends_with("Permission denied"),
            "{probe}: {got}\n{out}"
        );
        assert_avc(
            out,
            &[&format!("name=\"{target}\""), &format!("scontext={ca}")],
        );
    }
    assert_avc(out, &["name=\"b.img\"", &format!("tcontext={}", image(cb))]);
    let monitor = out.lines_with("monitor");
    assert_eq!(monitor.len(), 3, "{out}");
    assert!(
        monitor[0].contains("\"return\":{}"),
        "own disk: {}",
        monitor[0]
    );
    assert!(
        monitor[1].contains("Could not open") && monitor[1].contains("Permission denied"),
        "blockdev-add of b.img: {}",
        monitor[1]
    );
    assert!(
        monitor[2].contains("Permission denied"),
        "QEMU A connecting to B's QMP socket: {}",
        monitor[2]
    );
    // QEMU A may not even search B's directory, which holds B's QMP socket.
    assert_avc(
        out,
        &[
            "{ search }",
            &format!("scontext={ca}"),
            &format!("tcontext={}", image(cb)),
            "tclass=dir",
        ],
    );
}

/// Stopped, destroyed or killed: every label is given back, every pair released.
fn assert_labels_given_back(out: &VmOutput) {
    let original = field(out, "original");
    assert_eq!(original, "system_u:object_r:virt_var_lib_t:s0");
    assert_eq!(field(out, "label stopped a"), original, "after destroy");
    assert_eq!(field(out, "label stopped b"), original, "after QEMU quit");
    assert_eq!(
        field(out, "label killed b"),
        original,
        "after SIGKILL of QEMU"
    );
    // A read-only image is never given back (other VMs may use it), as libvirt.
    assert_eq!(
        field(out, "label stopped base"),
        "system_u:object_r:virt_content_t:s0"
    );
    for n in ["a", "b", "base"] {
        assert_eq!(field(out, &format!("trusted {n}")), "none", "{out}");
    }
    assert_eq!(field(out, "mcs"), "0", "every pair released\n{out}");
}

#[test]
fn lsm_selinux_static_none_relabel_no_and_a_killed_manager() {
    let out = run(OTHER_LABELS);
    let original = field(&out, "original");
    assert_eq!(
        field(&out, "ctx s"),
        "system_u:system_r:svirt_t:s0:c900,c901"
    );
    assert_eq!(
        field(&out, "label running s"),
        "system_u:object_r:svirt_image_t:s0:c900,c901",
        "relabel='no': the admin's label"
    );
    let n = field(&out, "ctx n");
    assert!(
        !n.contains("svirt_t"),
        "type='none' runs QEMU unconfined by sVirt: {n}"
    );
    assert_eq!(field(&out, "label running n"), original);
    let p = field(&out, "ctx p");
    assert_eq!(
        field(&out, "label running p"),
        format!("system_u:object_r:svirt_image_t:{}", level(p))
    );
    assert_eq!(
        field(&out, "label running q"),
        "system_u:object_r:svirt_image_t:s0",
        "per-disk relabel='no' keeps the disk's label"
    );
    assert_eq!(
        field(&out, "label stopped s"),
        "system_u:object_r:svirt_image_t:s0:c900,c901"
    );
    assert_eq!(field(&out, "label stopped n"), original);
    assert_eq!(field(&out, "label stopped p"), original);
    assert_eq!(
        field(&out, "label stopped q"),
        "system_u:object_r:svirt_image_t:s0"
    );

    assert!(
        field(&out, "label running k").contains("svirt_image_t:s0:c"),
        "{out}"
    );
    assert_eq!(
        field(&out, "label recovered k"),
        original,
        "recovered from the journal"
    );
    assert_eq!(field(&out, "trusted k"), "none");
    assert_eq!(field(&out, "adopted"), "running same-label", "{out}");
    assert!(
        field(&out, "monitor j").contains("\"running\":true"),
        "{out}"
    );
    assert_eq!(field(&out, "label stopped j"), original);
    assert_eq!(field(&out, "trusted j"), "none");
    assert_eq!(field(&out, "mcs"), "0", "every pair released\n{out}");
}
