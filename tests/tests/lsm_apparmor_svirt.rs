//! The AppArmor backend for real: in the LSM test VM (AppArmor enforcing), VMs started
//! with the built `oxvirt` through `qemu:///embed` with `security_driver = "apparmor"`
//! (DAC stacked, as root). `oxvirt-aa-helper` writes and loads each VM's
//! `libvirt-UUID` profile under `ROOT/etc/apparmor.d/libvirt`, QEMU is exec'd under it.
//! QEMU's guest does not boot (no OS, TCG in TCG): QEMU runs with its disks open,
//! which is what the profile is about.
//!
//! - two VMs: QEMU under its own profile in enforce mode (`/proc/PID/attr/current`), the
//!   live `<seclabel>` and `<secmodel>`; a probe exec'd under A's profile (`aa-exec -p`)
//!   reads and writes A's disk and is denied (EACCES + a DENIED line) B's disk, B's QMP
//!   socket, `/etc/shadow` and a file in `/root`; QEMU A's own monitor can open its disk
//!   but `blockdev-add` of B's disk and a connection to B's QMP socket fail; after
//!   destroy, a QMP `quit` (a guest poweroff's path) and a SIGKILL of QEMU the profile is
//!   unloaded and its files are gone;
//! - static and `type='none'` labels, and the manager SIGKILLed: with QEMU (re-open
//!   recovers from the journal) and alone (re-open re-adopts, destroy removes).

use oxvirt_tests::harness::built_binary;
use oxvirt_tests::lsm_vm::{Lsm, VmCommand, VmOutput};

/// Shared by both scripts: the root, images, `mkvm NAME DISK-XML [SECLABEL-XML]`,
/// `profile NAME...` (loaded mode and profile files of each VM).
const COMMON: &str = r#"set -u
B=$OXVIRT_BIN
D=/var/lib/oxt; R=$D/root; I=$D/img; P=$R/etc/apparmor.d/libvirt
U="qemu:///embed?root=$R"
mkdir -p $R/etc $I /root
printf 'security_driver = "apparmor"\n' >$R/etc/qemu.toml
ox() { $B/oxvirt -c "$U" "$@"; }
disk() { echo "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$I/$1.img'/><target dev='$2' bus='virtio'/></disk>"; }
mkvm() {
    echo "<domain type='qemu'><name>$1</name><memory unit='MiB'>32</memory><os><type>hvm</type></os>${3:-}<devices>$2</devices></domain>" >/tmp/$1.xml
    ox define /tmp/$1.xml >/dev/null && ox start $1 >/dev/null && echo "started: $1"
}
img() { for n in "$@"; do head -c 1048576 /dev/zero >$I/$n.img; done; }
qemu_of() { pgrep -f "^/usr/bin/qemu-system-x86_64 -name guest=$1,"; }
ctx_of() { tr -d '\0' </proc/$(qemu_of $1)/attr/current; }
uuid_of() { ox domuuid $1 | tr -d ' \n'; }
profile() {
    w=$1; shift
    for n in "$@"; do
        u=libvirt-$(uuid_of $n)
        m=$(sed -n "s/^$u (\(.*\))$/\1/p" /sys/kernel/security/apparmor/profiles)
        echo "profile $w $n: ${m:-unloaded} files=$(ls $P | grep -c "^$u")"
    done
}
gone() { for i in $(seq 50); do [ -z "$(qemu_of $1)" ] && ox domstate $1 2>/dev/null | grep -q 'shut off' && return; sleep 0.5; done; echo "still running: $1"; }
sup() { sed -n "s/.*supervisor='\([0-9]*\)'.*/\1/p" $R/run/qemu/$1.xml; }
"#;

const TWO_VMS: &str = r#"
img a b
mkvm a "$(disk a vda)"
mkvm b "$(disk b vda)"
echo "uuid a: $(uuid_of a)"
echo "uuid b: $(uuid_of b)"
echo "ctx a: $(ctx_of a)"
echo "ctx b: $(ctx_of b)"
profile running a b
ox dumpxml a | grep -A2 "<seclabel type='dynamic' model='apparmor'" | tr -d ' ' | sed 's/^/xml: /'
ox capabilities | tr -d '\n ' | sed 's/.*\(<secmodel><model>apparmor.*\)<\/host>.*/caps: \1/'; echo
echo secret >/root/secret
bsock=$(ls $R/run/qemu/domain-*-b/monitor.sock)
pa=libvirt-$(uuid_of a)
# The probe: the shell itself (a builtin open; the profile lets nothing else run).
probe() { s=0; o=$(aa-exec -p $pa -- sh -c "$2" 2>&1) || s=$?; echo "probe $1: $s $o" | tr '\n' ' '; echo; }
probe read-own "exec 3<$I/a.img && echo opened"
probe write-own "exec 3>>$I/a.img && echo opened"
probe read-other "exec 3<$I/b.img && echo opened"
probe write-other "exec 3>>$I/b.img && echo opened"
probe shadow "exec 3</etc/shadow && echo opened"
probe root "exec 3</root/secret && echo opened"
probe exec "cat /root/secret"
echo "features: $(ls /sys/kernel/security/apparmor/features | tr '\n' ' ')"
echo "network: $(ls /sys/kernel/security/apparmor/features/network 2>/dev/null | tr '\n' ' ')"
mon() { ox qemu-monitor-command a "$1" 2>&1 | tr -d '\n' | sed 's/^/monitor: /'; echo; }
mon '{"execute":"blockdev-add","arguments":{"driver":"file","node-name":"own","filename":"'$I/a.img'","read-only":true}}'
mon '{"execute":"blockdev-add","arguments":{"driver":"file","node-name":"other","filename":"'$I/b.img'","read-only":true}}'
mon '{"execute":"chardev-add","arguments":{"id":"peer","backend":{"type":"socket","data":{"addr":{"type":"unix","data":{"path":"'$bsock'"}},"server":false}}}}'
ox destroy a >/dev/null
ox qemu-monitor-command b '{"execute":"quit"}' >/dev/null 2>&1
gone a; gone b
profile stopped a b
ox start b >/dev/null
profile restarted b
kill -9 $(qemu_of b)
gone b
profile killed b
"#;

const OTHER_LABELS: &str = r#"
img s n k j
mkdir -p $D/static
sed "s#@PROFILE_DIR@#$D/static#" $OXVIRT_SRC/helpers/aa-helper/apparmor/oxvirt-qemu >$D/static/oxvirt-qemu
printf '%s\n' 'abi <abi/3.0>,' '#include <tunables/global>' \
  'profile oxt-static flags=(attach_disconnected) {' "  #include \"$D/static/oxvirt-qemu\"" \
  "  \"$I/s.img\" rwk," "  \"$R/**\" rwk," '}' >$D/static/oxt-static
apparmor_parser -r -K $D/static/oxt-static
mkvm s "$(disk s vda)" "<seclabel type='static' model='apparmor' relabel='no'><label>oxt-static</label></seclabel>"
echo "ctx s: $(ctx_of s)"
profile running s
ox destroy s >/dev/null; gone s
mkvm n "$(disk n vda)" "<seclabel type='none' model='apparmor'/>"
echo "ctx n: $(ctx_of n)"
profile running n
ox destroy n >/dev/null; gone n
echo "static still loaded: $(grep -c '^oxt-static ' /sys/kernel/security/apparmor/profiles)"
# The manager killed with QEMU: the next open recovers from the journal.
mkvm k "$(disk k vda)"
profile running k
uk=$(uuid_of k)
kill -9 $(sup k) $(qemu_of k)
sleep 1
ox list --all >/dev/null
m=$(sed -n "s/^libvirt-$uk (\(.*\))$/\1/p" /sys/kernel/security/apparmor/profiles)
echo "profile recovered k: ${m:-unloaded} files=$(ls $P | grep -c "^libvirt-$uk")"
# The manager killed alone: the next open re-adopts QEMU, destroy removes the profile.
mkvm j "$(disk j vda)"
before=$(ctx_of j)
kill -9 $(sup j)
sleep 1
ox list --all >/dev/null
echo "adopted: $(ox domstate j | tr -d '\n') $([ "$(ctx_of j)" = "$before" ] && echo same-profile)"
ox destroy j >/dev/null; gone j
profile stopped j
"#;

fn run(script: &str) -> VmOutput {
    let oxvirt = built_binary("oxvirt");
    let bin = oxvirt.parent().unwrap().to_str().unwrap().to_string();
    VmCommand::shell(Lsm::AppArmor, &format!("{COMMON}{script}"))
        .env("OXVIRT_BIN", &bin)
        .env("OXVIRT_SRC", concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .run()
}

#[track_caller]
fn field<'a>(out: &'a VmOutput, k: &str) -> &'a str {
    out.field(k)
        .unwrap_or_else(|| panic!("no `{k}:` line\n{out}"))
}

#[test]
fn lsm_apparmor_two_vms_get_own_profiles_and_cannot_reach_each_other() {
    let out = run(TWO_VMS);
    let pa = format!("libvirt-{}", field(&out, "uuid a"));
    let pb = format!("libvirt-{}", field(&out, "uuid b"));
    assert_running_profiles(&out, &pa, &pb);
    assert_a_cannot_reach_b(&out, &pa);
    assert_profiles_removed(&out);
}

/// A process under A's profile, and QEMU A's own monitor, reach A's disk only.
fn assert_a_cannot_reach_b(out: &VmOutput, pa: &str) {
    assert_eq!(field(out, "probe read-own").trim(), "0 opened", "{out}");
    assert_eq!(field(out, "probe write-own").trim(), "0 opened", "{out}");
    for (probe, path) in [
        ("read-other", "/var/lib/oxt/img/b.img"),
        ("write-other", "/var/lib/oxt/img/b.img"),
        ("shadow", "/etc/shadow"),
        ("root", "/root/secret"),
    ] {
        let got = field(out, &format!("probe {probe}"));
        assert!(
            got.starts_with("2 ") && got.contains("Permission denied") && !got.contains("opened"),
            "{probe}: {got}\n{out}"
        );
        assert_denied(out, pa, "open", path);
    }
    let got = field(out, "probe exec");
    assert!(
        got.contains("Permission denied"),
        "no other program runs: {got}"
    );
    assert_denied(out, pa, "exec", "/usr/bin/cat");
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
    // Debian's 6.1 kernel has no AppArmor af_unix mediation (no `unix` among the
    // network features): no profile can deny connecting to B's QMP socket by its path
    // there. Where the kernel mediates it, the connection must fail.
    if field(out, "network").split(' ').any(|f| f == "af_unix") {
        assert!(
            monitor[2].contains("error"),
            "B's QMP socket: {}",
            monitor[2]
        );
    } else {
        assert!(!field(out, "features").contains("unix"), "{out}");
    }
}

/// Destroyed, quit (a guest poweroff's path) or SIGKILLed: profile unloaded, files gone.
fn assert_profiles_removed(out: &VmOutput) {
    for (k, want) in [
        ("profile stopped a", "unloaded files=0"),
        ("profile stopped b", "unloaded files=0"),
        ("profile restarted b", "enforce files=2"),
        ("profile killed b", "unloaded files=0"),
    ] {
        assert_eq!(field(out, k), want, "{k}\n{out}");
    }
}

#[test]
fn lsm_apparmor_static_none_and_a_killed_manager() {
    let out = run(OTHER_LABELS);
    assert_eq!(field(&out, "ctx s"), "oxt-static (enforce)", "{out}");
    assert_eq!(field(&out, "profile running s"), "unloaded files=0");
    assert_eq!(field(&out, "ctx n"), "unconfined", "type='none'\n{out}");
    assert_eq!(field(&out, "profile running n"), "unloaded files=0");
    assert_eq!(
        field(&out, "static still loaded"),
        "1",
        "the admin's profile stays"
    );
    assert_eq!(field(&out, "profile running k"), "enforce files=2", "{out}");
    assert_eq!(
        field(&out, "profile recovered k"),
        "unloaded files=0",
        "{out}"
    );
    assert_eq!(field(&out, "adopted"), "running same-profile", "{out}");
    assert_eq!(
        field(&out, "profile stopped j"),
        "unloaded files=0",
        "{out}"
    );
}

/// The kernel logged AppArmor's denial of `op` on `name` under `profile`.
#[track_caller]
fn assert_denied(out: &VmOutput, profile: &str, op: &str, name: &str) {
    let lines = out.kernel_log_lines(&[
        "apparmor=\"DENIED\"",
        &format!("operation=\"{op}\""),
        &format!("profile=\"{profile}\""),
        &format!("name=\"{name}\""),
    ]);
    assert!(
        !lines.is_empty(),
        "no AppArmor denial of {op} {name}\n{out}"
    );
}

/// Each QEMU runs under its own profile, enforced; the XML and capabilities say so.
fn assert_running_profiles(out: &VmOutput, pa: &str, pb: &str) {
    assert_ne!(pa, pb);
    assert_eq!(field(out, "ctx a"), format!("{pa} (enforce)"), "{out}");
    assert_eq!(field(out, "ctx b"), format!("{pb} (enforce)"), "{out}");
    assert_eq!(field(out, "profile running a"), "enforce files=2");
    assert_eq!(field(out, "profile running b"), "enforce files=2");
    let xml = out.lines_with("xml").join("");
    assert!(
        xml.contains(&format!("<label>{pa}</label>"))
            && xml.contains(&format!("<imagelabel>{pa}</imagelabel>")),
        "{out}"
    );
    assert!(
        field(out, "caps").starts_with(
            "<secmodel><model>apparmor</model><doi>0</doi></secmodel><secmodel><model>dac</model>"
        ),
        "{out}"
    );
}
