//! End-to-end, real QEMU (TCG): capabilities and domcapabilities validate against
//! libvirt's schemas; `domxml-to-native` of the seed examples starts in QEMU paused
//! and QMP reports what the XML asked for; `domxml-from-native` of the seed example;
//! `<qemu:commandline>` reaches the QEMU process (`/proc/PID/cmdline`, `environ`) and
//! taints the domain; `qemu-monitor-command` round-trips QMP and HMP.
//!
//! Tests named `boot_*` start a domain through the supervisor (no guest OS needed).

use oxvirt_tests::harness::{require, EmbedRoot};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const QEMU: &str = "/usr/bin/qemu-system-x86_64";
const QEMU_I386: &str = "/usr/bin/qemu-system-i386";

/// An embedded root with a `pid(NAME)` helper for QEMU's pid.
struct Root(EmbedRoot);

impl std::ops::Deref for Root {
    type Target = EmbedRoot;
    fn deref(&self) -> &EmbedRoot {
        &self.0
    }
}

impl Root {
    fn new() -> Root {
        Root(EmbedRoot::new("oxp"))
    }
    fn pid(&self, name: &str) -> u32 {
        self.status_attr(name, "pid")
            .expect("status file with a pid")
    }
}

fn xmllint(schema: &str, file: &Path) {
    let out = Command::new("xmllint")
        .args(["--noout", "--relaxng"])
        .arg(format!("/usr/share/libvirt/schemas/{schema}"))
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} does not validate against {schema}:\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn capabilities_and_domcapabilities_validate() {
    require(QEMU, "qemu-system-x86");
    let r = Root::new();
    let cold = r.ok(&["capabilities"]);
    let warm = r.ok(&["capabilities"]);
    assert_eq!(
        cold, warm,
        "the cached capabilities must equal the probed ones"
    );
    assert!(cold.contains("<emulator>/usr/bin/qemu-system-x86_64</emulator>"));
    assert!(cold.contains("<machine canonical='pc-i440fx-"), "{cold}");
    assert!(cold.contains("<domain type='qemu'/>"));
    assert!(
        r.path()
            .join("cache/qemu/capabilities")
            .read_dir()
            .unwrap()
            .count()
            >= 1
    );
    require("/usr/bin/xmllint", "libxml2-utils");
    require("/usr/share/libvirt/schemas/capability.rng", "libvirt0");
    let f = r.write("caps.xml", &cold);
    xmllint("capability.rng", Path::new(&f));
    for args in [
        vec!["domcapabilities"],
        vec!["domcapabilities", "--virttype", "qemu", "--machine", "q35"],
        vec![
            "domcapabilities",
            "--emulatorbin",
            QEMU,
            "--arch",
            "x86_64",
            "--virttype",
            "qemu",
        ],
    ] {
        let x = r.ok(&args);
        assert!(x.contains("<domainCapabilities>"));
        let f = r.write("domcaps.xml", &x);
        xmllint("domaincaps.rng", Path::new(&f));
    }
    let x = r.ok(&["domcapabilities", "--virttype", "qemu", "--machine", "q35"]);
    assert!(x.contains("<machine>pc-q35-"), "{x}");
    let bad = r.run(&["domcapabilities", "--machine", "no-such-machine"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .contains("does not support machine type 'no-such-machine'"),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_broken_binary_in_emulator_dirs_is_skipped_with_a_warning() {
    require(QEMU, "qemu-system-x86");
    use std::os::unix::fs::PermissionsExt;
    let r = Root::new();
    let bad = r.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    let b = bad.join("qemu-system-aarch64");
    std::fs::write(&b, "#!/bin/sh\necho broken >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        r.path().join("etc/qemu.toml"),
        format!("emulator_dirs = [\"{}\", \"/usr/bin\"]\n", bad.display()),
    )
    .ok()
    .or_else(|| {
        std::fs::create_dir_all(r.path().join("etc")).unwrap();
        std::fs::write(
            r.path().join("etc/qemu.toml"),
            format!("emulator_dirs = [\"{}\", \"/usr/bin\"]\n", bad.display()),
        )
        .ok()
    })
    .unwrap();
    let o = r.run(&["capabilities"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("skipping QEMU binary"), "{}", o.stderr);
    assert!(o
        .stdout
        .contains("<emulator>/usr/bin/qemu-system-x86_64</emulator>"));
    assert!(!o.stdout.contains("aarch64"));
}

/// A minimal synchronous QMP client for checking a QEMU we started ourselves.
struct Qmp(BufReader<UnixStream>);

impl Qmp {
    fn connect(path: &Path, child: &mut Child) -> Qmp {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(s) = UnixStream::connect(path) {
                let mut q = Qmp(BufReader::new(s));
                let mut greeting = String::new();
                q.0.read_line(&mut greeting).unwrap();
                q.cmd("qmp_capabilities", json!({}));
                return q;
            }
            if let Ok(Some(st)) = child.try_wait() {
                panic!("QEMU exited ({st}) before its monitor came up");
            }
            assert!(
                Instant::now() < deadline,
                "no QMP socket at {}",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    fn cmd(&mut self, execute: &str, args: Value) -> Value {
        let msg = json!({ "execute": execute, "arguments": args }).to_string() + "\n";
        self.0.get_mut().write_all(msg.as_bytes()).unwrap();
        loop {
            let mut line = String::new();
            assert!(
                self.0.read_line(&mut line).unwrap() > 0,
                "QMP closed during {execute}"
            );
            let v: Value = serde_json::from_str(&line).unwrap();
            if v.get("event").is_some() {
                continue;
            }
            assert!(v.get("error").is_none(), "{execute}: {v}");
            return v["return"].clone();
        }
    }
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Run `domxml-to-native` on `xml`, start the line in QEMU (paused by `-S`) and
/// return the QMP connection.
fn start_native(r: &Root, xml: &str) -> (Killed, Qmp, String) {
    let f = r.write("dom.xml", xml);
    let out = r.ok(&["domxml-to-native", "qemu-argv", &f]);
    assert!(
        out.ends_with("\n") && !out.ends_with("\n\n"),
        "virsh prints one line"
    );
    let line = out.trim_end().to_string();
    assert!(!line.contains('\n'), "one line: {line}");
    let start = line.find("id=charmonitor,path=").unwrap() + "id=charmonitor,path=".len();
    let end = start + line[start..].find(",server=on").unwrap();
    let monitor = PathBuf::from(&line[start..end]);
    std::fs::create_dir_all(monitor.parent().unwrap()).unwrap();
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!("exec env -i {line}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut k = Killed(child);
    let q = Qmp::connect(&monitor, &mut k.0);
    (k, q, line)
}

fn check(q: &mut Qmp, mem_mib: u64, vcpus: usize, machine_prefix: &str, blocks: &[(&str, &str)]) {
    assert_eq!(q.cmd("query-status", json!({}))["status"], "prelaunch");
    let mem = q.cmd("query-memory-size-summary", json!({}));
    assert_eq!(mem["base-memory"], json!(mem_mib * 1024 * 1024));
    assert_eq!(
        q.cmd("query-cpus-fast", json!({}))
            .as_array()
            .unwrap()
            .len(),
        vcpus
    );
    let ty = q.cmd("qom-get", json!({"path": "/machine", "property": "type"}));
    assert!(
        ty.as_str().unwrap().starts_with(machine_prefix),
        "machine {ty}"
    );
    let blk = q.cmd("query-block", json!({}));
    for (qdev, file) in blocks {
        let b = blk
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["qdev"].as_str().is_some_and(|d| d.contains(qdev)))
            .unwrap_or_else(|| panic!("no block device {qdev} in {blk}"));
        assert_eq!(b["inserted"]["file"], json!(file), "{b}");
    }
}

#[test]
fn seed_example_071_argv_starts_paused_in_qemu() {
    require(QEMU_I386, "qemu-system-x86");
    let r = Root::new();
    let img = r.path().join("QEMUGuest1.img");
    std::fs::write(&img, vec![0u8; 1 << 20]).unwrap();
    // The seed's demo.xml; /usr/bin/qemu → qemu-system-i386, the LVM volume → a file.
    let xml = format!(
        "<domain type='qemu'>
  <name>QEMUGuest1</name>
  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <memory>219200</memory>
  <currentMemory>219200</currentMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch='i686' machine='pc'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{QEMU_I386}</emulator>
    <disk type='file' device='disk'>
      <source file='{}'/>
      <target dev='hda' bus='ide'/>
    </disk>
  </devices>
</domain>",
        img.display()
    );
    let (_k, mut q, line) = start_native(&r, &xml);
    assert!(
        line.contains(" -machine pc-i440fx-"),
        "alias resolved: {line}"
    );
    assert_eq!(
        q.cmd("query-uuid", json!({}))["UUID"],
        "c7a5fdbd-edaf-9455-926a-d65c16db1809"
    );
    check(
        &mut q,
        215,
        1,
        "pc-i440fx-",
        &[("ide0-0-0", &img.display().to_string())],
    );
}

#[test]
fn seed_example_fedora_i686_argv_starts_paused_in_qemu() {
    require(QEMU, "qemu-system-x86");
    let r = Root::new();
    let iso = r.path().join("boot.iso");
    let img = r.path().join("fedora.img");
    std::fs::write(&iso, vec![0u8; 1 << 20]).unwrap();
    std::fs::write(&img, vec![0u8; 1 << 20]).unwrap();
    // The seeds' "QEMU emulated guest on x86_64" example; /home/user → the root,
    // network 'default' (needs a bridge) → user networking.
    let xml = format!(
        "<domain type='qemu'>
  <name>QEmu-fedora-i686</name>
  <uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>
  <memory>219200</memory>
  <currentMemory>219200</currentMemory>
  <vcpu>2</vcpu>
  <os>
    <type arch='i686' machine='pc'>hvm</type>
    <boot dev='cdrom'/>
  </os>
  <devices>
    <emulator>{QEMU}</emulator>
    <disk type='file' device='cdrom'>
      <source file='{}'/>
      <target dev='hdc'/>
      <readonly/>
    </disk>
    <disk type='file' device='disk'>
      <source file='{}'/>
      <target dev='hda'/>
    </disk>
    <interface type='user'><mac address='52:54:00:12:34:56'/></interface>
    <graphics type='vnc' port='-1'/>
  </devices>
</domain>",
        iso.display(),
        img.display()
    );
    let (_k, mut q, _line) = start_native(&r, &xml);
    check(
        &mut q,
        215,
        2,
        "pc-i440fx-",
        &[
            ("ide0-1-0", &iso.display().to_string()),
            ("ide0-0-0", &img.display().to_string()),
        ],
    );
    assert_eq!(q.cmd("query-name", json!({}))["name"], "QEmu-fedora-i686");
}

#[test]
fn from_native_of_the_seed_example_prints_the_seed_domain() {
    let r = Root::new();
    let f = r.write(
        "demo.args",
        "LC_ALL=C PATH=/bin HOME=/home/test USER=test LOGNAME=test /usr/bin/qemu -S -M pc -m 214 -smp 1 -nographic -monitor pty -no-acpi -boot c -hda /dev/HostVG/QEMUGuest1 -net none -serial none -parallel none -usb\n",
    );
    let o = r.run(&["domxml-from-native", "qemu-argv", &f]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    for want in [
        "<domain type='qemu'>",
        "<uuid>00000000-0000-0000-0000-000000000000</uuid>",
        "<memory unit='KiB'>219136</memory>",
        "<type arch='i686' machine='pc'>hvm</type>",
        "<boot dev='hd'/>",
        "<emulator>/usr/bin/qemu</emulator>",
        "<disk type='block' device='disk'>",
        "<source dev='/dev/HostVG/QEMUGuest1'/>",
        "<target dev='hda' bus='ide'/>",
    ] {
        assert!(o.stdout.contains(want), "missing {want} in\n{}", o.stdout);
    }
    assert!(!o.stdout.contains("<features>"), "-no-acpi: no <acpi/>");
    // What it does not understand is kept, with virsh-style warnings on stderr.
    let odd = r.write(
        "odd.args",
        "/usr/bin/qemu-system-x86_64 -m 64 -name odd -frobnicate yes\n",
    );
    let o = r.run(&["domxml-from-native", "qemu-argv", &odd]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("<qemu:arg value='-frobnicate'/>"),
        "{}",
        o.stdout
    );
    assert!(
        o.stderr
            .lines()
            .any(|l| l.starts_with("warning: ") && l.contains("-frobnicate")),
        "{}",
        o.stderr
    );
    let bad = r.run(&["domxml-from-native", "vmware-vmx", &f]);
    assert_eq!(bad.code, 1);
}

#[test]
fn monitor_command_on_an_inactive_domain_is_a_clear_error() {
    let r = Root::new();
    let f = r.write(
        "d.xml",
        "<domain type='qemu'><name>off</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>",
    );
    r.ok(&["define", &f]);
    let o = r.run(&[
        "qemu-monitor-command",
        "off",
        "{\"execute\":\"query-status\"}",
    ]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr
            .contains("Requested operation is not valid: domain is not running"),
        "{}",
        o.stderr
    );
}

/// A domain with `<qemu:commandline>` (an argument and an environment variable) and
/// `<qemu:capabilities>` (JSON `-device` removed).
const PASSTHROUGH_XML: &str =
    "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>pass</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
  <qemu:commandline>
    <qemu:arg value='-smbios'/>
    <qemu:arg value='type=1,serial=oxvirt passthrough'/>
    <qemu:env name='QEMU_ENV' value='VAL with space'/>
  </qemu:commandline>
  <qemu:capabilities>
    <qemu:del capability='device.json'/>
  </qemu:capabilities>
</domain>";

#[test]
fn boot_qemu_commandline_env_capabilities_and_monitor() {
    require(QEMU, "qemu-system-x86");
    let r = Root::new();
    let f = r.write("p.xml", PASSTHROUGH_XML);
    r.ok(&["define", &f]);
    r.ok(&["start", "pass"]);
    commandline_reaches_qemu(r.pid("pass"));
    passthrough_taints_and_stays_in_the_xml(&r);
    qmp_round_trips(&r);
    hmp_and_bad_commands(&r);
    r.ok(&["destroy", "pass"]);
}

/// `<qemu:arg>` and `<qemu:env>` are in QEMU's `/proc/PID/cmdline` and `environ`, and
/// without `device.json` every `-device` is in key=value syntax.
fn commandline_reaches_qemu(pid: u32) {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let i = args
        .iter()
        .position(|a| a == "-smbios")
        .expect("-smbios passed");
    assert_eq!(args[i + 1], "type=1,serial=oxvirt passthrough");
    // device.json removed: -device in key=value syntax.
    assert!(
        args.iter()
            .any(|a| a.starts_with("virtio-balloon-pci,id=balloon0")),
        "{args:?}"
    );
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    assert!(
        environ
            .split(|b| *b == 0)
            .any(|e| e == b"QEMU_ENV=VAL with space"),
        "QEMU_ENV not in the environment"
    );
}

/// The domain log names both taints; `dumpxml` keeps both elements.
fn passthrough_taints_and_stays_in_the_xml(r: &Root) {
    let log = std::fs::read_to_string(r.path().join("log/qemu/pass.log")).unwrap();
    assert!(log.contains("is tainted: custom-argv"), "{log}");
    assert!(
        log.contains("is tainted: custom-hypervisor-feature"),
        "{log}"
    );
    let xml = r.ok(&["dumpxml", "pass"]);
    assert!(xml.contains("<qemu:arg value='-smbios'/>"), "{xml}");
    assert!(
        xml.contains("<qemu:del capability='device.json'/>"),
        "{xml}"
    );
}

/// QMP round trip: one line + blank line; --pretty: indented.
fn qmp_round_trips(r: &Root) {
    let o = r.ok(&[
        "qemu-monitor-command",
        "pass",
        "{\"execute\":\"query-name\"}",
    ]);
    assert!(o.ends_with("}\n\n"), "{o:?}");
    let v: Value = serde_json::from_str(o.trim()).unwrap();
    assert_eq!(v["return"]["name"], "pass");
    assert!(o.starts_with("{\"return\":"), "QEMU's key order: {o}");
    assert!(v["id"].as_str().unwrap().starts_with("oxvirt-"), "{o}");
    let o = r.ok(&[
        "qemu-monitor-command",
        "pass",
        "{\"execute\":\"query-name\",\"id\":\"mine\"}",
    ]);
    assert!(o.ends_with(",\"id\":\"mine\"}\n\n"), "{o}");
    let o = r.ok(&[
        "qemu-monitor-command",
        "pass",
        "--pretty",
        "{\"execute\":\"query-status\"}",
    ]);
    assert!(o.starts_with("{\n  \"return\": {\n"), "{o}");
    assert!(o.ends_with("}\n") && !o.ends_with("\n\n"), "{o:?}");
    let v: Value = serde_json::from_str(o.trim()).unwrap();
    assert_eq!(v["return"]["status"], "running");
    // A QEMU error comes back as QEMU's reply, not as a failure of the command.
    let o = r.ok(&[
        "qemu-monitor-command",
        "pass",
        "{\"execute\":\"no-such-command\"}",
    ]);
    assert!(o.contains("CommandNotFound"), "{o}");
}

/// HMP through `human-monitor-command`, refused combinations, and the
/// `custom-monitor` taint all of this leaves in the log.
fn hmp_and_bad_commands(r: &Root) {
    // HMP through human-monitor-command; words are joined.
    let o = r.ok(&["qemu-monitor-command", "pass", "--hmp", "info", "status"]);
    assert_eq!(o, "VM status: running\r\n\n\n", "as virsh prints it");
    let o = r.run(&[
        "qemu-monitor-command",
        "pass",
        "--hmp",
        "--pretty",
        "info status",
    ]);
    assert_eq!(o.code, 1);
    // Not JSON: a clear error.
    let o = r.run(&["qemu-monitor-command", "pass", "{not json"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("not JSON"), "{}", o.stderr);
    let log = std::fs::read_to_string(r.path().join("log/qemu/pass.log")).unwrap();
    assert!(log.contains("is tainted: custom-monitor"), "{log}");
}
