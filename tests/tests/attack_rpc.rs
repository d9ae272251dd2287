//! End-to-end: the attacks of issue 9 on the read-only socket, run as the unprivileged
//! user `nobody` (uid 65534, through `setpriv`) with stock virsh and python3-libvirt
//! against a real oxvirtd (run by root) with a short oxvirtd.toml:
//!
//! - `domcapabilities --emulatorbin SCRIPT` and `domxml-to-native` with
//!   `<emulator>SCRIPT</emulator>` are refused and SCRIPT never runs (its marker file is
//!   never written): libvirt's CVE-2019-10167 class;
//! - `dumpxml --security-info` is refused (the VNC password stays hidden) while plain
//!   `dumpxml` works;
//! - holding `max_clients` connections gets the next client refused with the limit's
//!   name, and so do anonymous clients over `max_anonymous_clients`, while root's client
//!   on the read-write socket keeps answering; the refusal is logged;
//! - a truncated frame is closed after `incomplete_frame_timeout`.

mod rpc_common;

use rpc_common::{tail, wait_until, Daemon, Out};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const NOBODY: u32 = 65534;
const MAX_CLIENTS: usize = 8;
const MAX_ANONYMOUS: usize = 3;
const FRAME_TIMEOUT_S: u64 = 2;
const SECRET: &str = "SECRET-vnc-47";

/// The test directory's world-visible part: the marker script, the XML files, nobody's
/// HOME. The marker directory is writable by every uid, so whoever ran the script would
/// leave the marker.
struct Bait {
    script: PathBuf,
    marker: PathBuf,
    emulator_xml: PathBuf,
    home: PathBuf,
}

fn bait(d: &Daemon) -> Bait {
    let mode =
        |p: &Path, m: u32| std::fs::set_permissions(p, PermissionsExt::from_mode(m)).unwrap();
    // nobody may traverse the test directory to reach the read-only socket.
    mode(d.path(), 0o711);
    let pub_dir = d.path().join("pub");
    std::fs::create_dir(&pub_dir).unwrap();
    mode(&pub_dir, 0o777);
    let marker = pub_dir.join("marker");
    let script = pub_dir.join("fake-qemu.sh");
    std::fs::write(&script, format!("#!/bin/sh\nid > {}\n", marker.display())).unwrap();
    mode(&script, 0o755);
    let emulator_xml = pub_dir.join("emulator.xml");
    let xml = d.domain_xml("evil").replace(
        "<devices>",
        &format!("<devices>\n    <emulator>{}</emulator>", script.display()),
    );
    std::fs::write(&emulator_xml, xml).unwrap();
    mode(&emulator_xml, 0o644);
    let home = d.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(NOBODY), Some(NOBODY)).unwrap();
    Bait {
        script,
        marker,
        emulator_xml,
        home,
    }
}

/// `program args...` as nobody, with a clean environment.
fn as_nobody(home: &Path, program: &str) -> Command {
    rpc_common::require_command("setpriv", "util-linux");
    let mut c = Command::new("setpriv");
    c.args([
        format!("--reuid={NOBODY}"),
        format!("--regid={NOBODY}"),
        "--clear-groups".into(),
        "env".into(),
        "-i".into(),
        format!("HOME={}", home.display()),
        "PATH=/usr/bin:/bin".into(),
        "LC_ALL=C".into(),
        program.into(),
    ]);
    c
}

fn output(c: &mut Command) -> Out {
    let o = c.output().expect("cannot run the command");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn virsh_nobody(d: &Daemon, b: &Bait, args: &[&str]) -> Out {
    rpc_common::require_command("virsh", "libvirt-clients");
    output(
        as_nobody(&b.home, "virsh")
            .arg("-c")
            .arg(d.ro_uri())
            .args(args),
    )
}

/// Run `script` with python3-libvirt as nobody; its stdout, or a panic with everything.
fn python_nobody(d: &Daemon, b: &Bait, script: &str, args: &[&str]) -> String {
    let o = output(
        as_nobody(&b.home, "/usr/bin/python3")
            .arg("-c")
            .arg(script)
            .arg(d.ro_uri())
            .args(args),
    );
    assert_eq!(
        o.code,
        0,
        "python as nobody failed:\n{}{}\n--- oxvirtd log:\n{}",
        o.stdout,
        o.stderr,
        tail(&d.log(), 30)
    );
    o.stdout
}

fn refused(o: &Out, what: &str) {
    assert_eq!(o.code, 1, "not refused: {}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains(what), "{}", o.stderr);
}

/// A raw client of root's on the read-write socket, opened before the floods.
fn root_client(d: &Daemon) -> UnixStream {
    let mut s = UnixStream::connect(d.socket()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut open = Vec::new();
    open.extend_from_slice(&1u32.to_be_bytes()); // name present
    open.extend_from_slice(&14u32.to_be_bytes());
    open.extend_from_slice(b"qemu:///system\0\0");
    open.extend_from_slice(&0u32.to_be_bytes()); // flags
    assert_eq!(
        raw_call(&mut s, 1, 0, &open),
        0,
        "CONNECT_OPEN as root failed"
    );
    s
}

/// One remote-program CALL; the reply's status (0 OK, 1 ERROR).
fn raw_call(s: &mut UnixStream, proc_: u32, serial: u32, payload: &[u8]) -> u32 {
    let mut f = Vec::new();
    f.extend_from_slice(&((28 + payload.len()) as u32).to_be_bytes());
    for w in [0x2000_8086, 1, proc_, 0, serial, 0] {
        f.extend_from_slice(&w.to_be_bytes());
    }
    f.extend_from_slice(payload);
    s.write_all(&f).unwrap();
    loop {
        let mut len = [0u8; 4];
        s.read_exact(&mut len)
            .expect("root's client lost its connection");
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize - 4];
        s.read_exact(&mut body).unwrap();
        let w = |i: usize| u32::from_be_bytes(body[i..i + 4].try_into().unwrap());
        if w(12) == 1 && w(16) == serial {
            return w(20);
        }
    }
}

fn root_answers(s: &mut UnixStream, serial: u32) {
    // CONNECT_GET_HOSTNAME.
    assert_eq!(
        raw_call(s, 59, serial, &[]),
        0,
        "root's client stopped being answered"
    );
}

#[test]
fn attack_rpc_nobody_cannot_run_programs_read_secrets_or_exhaust_the_daemon() {
    let d = Daemon::start_with(|dir| {
        let conf = dir.join("oxvirtd.toml");
        std::fs::write(
            &conf,
            format!(
                "max_clients = {MAX_CLIENTS}\nmax_anonymous_clients = {MAX_ANONYMOUS}\n\
                 incomplete_frame_timeout = {FRAME_TIMEOUT_S}\n"
            ),
        )
        .unwrap();
        vec!["--config".into(), conf.into()]
    });
    let b = bait(&d);
    let vnc = d.domain_xml("sec").replace(
        "<devices>",
        &format!("<devices>\n    <graphics type='vnc' autoport='yes' passwd='{SECRET}'/>"),
    );
    d.ok(&["define", &d.write("sec.xml", &vnc)]);
    let mut root = root_client(&d);

    programs_are_not_run(&d, &b);
    secrets_stay_hidden(&d, &b);
    assert!(
        !b.marker.exists(),
        "the caller's emulator ran as {:?}",
        std::fs::read_to_string(&b.marker)
    );

    client_limit_holds(&d, &b, &mut root);
    anonymous_clients_and_truncated_frames(&d, &b, &mut root);
    root_answers(&mut root, 90);
    assert!(!b.marker.exists());
}

fn programs_are_not_run(d: &Daemon, b: &Bait) {
    let script = b.script.display().to_string();
    let o = virsh_nobody(d, b, &["domcapabilities", "--emulatorbin", &script]);
    refused(
        &o,
        "operation forbidden: read only access prevents virConnectGetDomainCapabilities",
    );
    let xml = b.emulator_xml.display().to_string();
    let o = virsh_nobody(d, b, &["domxml-to-native", "qemu-argv", &xml]);
    refused(
        &o,
        "operation forbidden: read only access prevents virConnectDomainXMLToNative",
    );
    let out = python_nobody(d, b, PY_PROGRAMS, &[&script, &xml]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["caps 29", "to-native 29", "from-native 29"],
        "{out}"
    );
}

const PY_PROGRAMS: &str = r#"
import sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
uri, script, xml = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
c = libvirt.open(uri)
for name, f in [
    ("caps", lambda: c.getDomainCapabilities(script, None, None, None, 0)),
    ("to-native", lambda: c.domainXMLToNative("qemu-argv", xml, 0)),
    ("from-native", lambda: c.domainXMLFromNative("qemu-argv", script + " -S", 0)),
]:
    try:
        f()
        print(name, "ALLOWED")
    except libvirt.libvirtError as e:
        print(name, e.get_error_code())
"#;

fn secrets_stay_hidden(d: &Daemon, b: &Bait) {
    let o = virsh_nobody(d, b, &["dumpxml", "--security-info", "sec"]);
    refused(
        &o,
        "operation forbidden: virDomainGetXMLDesc with secure flag",
    );
    let o = virsh_nobody(d, b, &["dumpxml", "sec"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("<graphics type='vnc'"), "{}", o.stdout);
    assert!(!o.stdout.contains(SECRET), "{}", o.stdout);
    // Root sees it: the flag is what is refused.
    assert!(d
        .ok(&["dumpxml", "--security-info", "sec"])
        .contains(SECRET));
    let out = python_nobody(d, b, PY_SECRETS, &[SECRET]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["secure 29", "migratable 29", "plain hidden"],
        "{out}"
    );
}

const PY_SECRETS: &str = r#"
import sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
c = libvirt.open(sys.argv[1])
dom = c.lookupByName("sec")
for name, flags in [("secure", libvirt.VIR_DOMAIN_XML_SECURE), ("migratable", libvirt.VIR_DOMAIN_XML_MIGRATABLE)]:
    try:
        print(name, "LEAKED" if sys.argv[2] in dom.XMLDesc(flags) else "ALLOWED")
    except libvirt.libvirtError as e:
        print(name, e.get_error_code())
print("plain", "LEAKED" if sys.argv[2] in dom.XMLDesc(0) else "hidden")
"#;

/// nobody opens read-only connections until refused and holds them; root's client
/// keeps answering; the refusal names the limit and is logged; a place frees when
/// nobody lets go.
fn client_limit_holds(d: &Daemon, b: &Bait, root: &mut UnixStream) {
    // Only root's client is connected (the earlier virsh runs are gone).
    let open = || {
        d.log().matches("client connected").count() - d.log().matches("client disconnected").count()
    };
    assert!(
        wait_until(Duration::from_secs(10), || open() == 1),
        "{} clients still connected",
        open()
    );
    let mut flood = as_nobody(&b.home, "/usr/bin/python3")
        .arg("-c")
        .arg(PY_FLOOD)
        .arg(d.ro_uri())
        .arg((MAX_CLIENTS + 5).to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(flood.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // Root's client holds one place; nobody gets the rest.
    let want = format!("held {} refused: ", MAX_CLIENTS - 1);
    assert!(line.starts_with(&want), "{line}\n{}", tail(&d.log(), 20));
    assert!(
        line.contains(&format!("max_clients = {MAX_CLIENTS}")),
        "{line}"
    );
    root_answers(root, 10);
    let o = virsh_nobody(d, b, &["list"]);
    refused(&o, "too many clients");
    assert!(
        d.log()
            .contains(&format!("max_clients = {MAX_CLIENTS} reached")),
        "{}",
        tail(&d.log(), 20)
    );
    drop(flood.stdin.take());
    let _ = flood.wait();
    let freed = wait_until(Duration::from_secs(10), || {
        virsh_nobody(d, b, &["list"]).code == 0
    });
    assert!(
        freed,
        "the places were not given back:\n{}",
        tail(&d.log(), 20)
    );
}

const PY_FLOOD: &str = r#"
import sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
held, err = [], ""
for _ in range(int(sys.argv[2])):
    try:
        held.append(libvirt.open(sys.argv[1]))
    except libvirt.libvirtError as e:
        err = str(e)
        break
print("held", len(held), "refused:", err, flush=True)
sys.stdin.read()
"#;

/// Idle anonymous sockets fill max_anonymous_clients (root is not affected) and are
/// closed after the timeout; a truncated frame is closed after the timeout.
fn anonymous_clients_and_truncated_frames(d: &Daemon, b: &Bait, root: &mut UnixStream) {
    let sock = d.ro_socket().display().to_string();
    let mut raw = as_nobody(&b.home, "/usr/bin/python3")
        .arg("-c")
        .arg(PY_RAW)
        .arg(&sock)
        .arg(MAX_ANONYMOUS.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(raw.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(
        line.contains(&format!("max_anonymous_clients = {MAX_ANONYMOUS}")),
        "{line}"
    );
    // Root's new and old clients are not anonymous.
    assert_eq!(d.virsh(&["list"]).code, 0);
    root_answers(root, 20);
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(raw.wait().unwrap().success(), "{line}{rest}");
    let t = |tag: &str| -> f64 {
        rest.lines()
            .find_map(|l| l.strip_prefix(tag))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {tag} in {rest}"))
    };
    let (idle, partial) = (t("idle closed after"), t("partial closed after"));
    let limit = FRAME_TIMEOUT_S as f64;
    assert!((limit - 0.5..limit + 5.0).contains(&idle), "{rest}");
    assert!((limit - 0.1..limit + 5.0).contains(&partial), "{rest}");
    root_answers(root, 30);
}

const PY_RAW: &str = r#"
import socket, struct, sys, time
path, n = sys.argv[1], int(sys.argv[2])
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(path); s.settimeout(20); return s
def closed_after(s, t0):
    while s.recv(4096):
        pass
    return time.time() - t0
def call(s, proc, payload=b""):
    s.sendall(struct.pack(">IIIiiIi", 28 + len(payload), 0x20008086, 1, proc, 0, 0, 0) + payload)
    ln = struct.unpack(">I", s.recv(4))[0]
    body = b""
    while len(body) < ln - 4:
        body += s.recv(ln - 4 - len(body))
    return body
idle = [conn() for _ in range(n)]
t0 = time.time()
time.sleep(0.3)
reply = call(conn(), 66)  # AUTH_LIST from one anonymous client too many
print(reply[24:].decode("latin1"), flush=True)
print("idle closed after", max(closed_after(s, t0) for s in idle))
# An opened (not anonymous) client whose next frame stops halfway.
s = conn()
call(s, 1, struct.pack(">II", 1, 14) + b"qemu:///system\0\0" + struct.pack(">I", 0))
s.sendall(struct.pack(">II", 28, 0x20008086)[:6])
print("partial closed after", closed_after(s, time.time()))
"#;
