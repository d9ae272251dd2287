//! End-to-end: stock `virsh` (libvirt-clients 9.0, no libvirt daemon) drives a real
//! `oxvirtd` over `qemu+unix:///system?socket=PATH`, and raw sockets feed it bad input.
//!
//! Tests named `boot_*` boot the real test guest under TCG (see `.config/nextest.toml`).

mod rpc_common;

use rpc_common::{wait_until, Daemon};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn rpc_virsh_host_and_definition_commands() {
    let d = Daemon::start();
    let v = d.ok(&["version"]);
    assert!(v.contains("Using API: QEMU 9.0.0"), "{v}");
    assert!(v.contains("Running hypervisor: QEMU "), "{v}");

    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(d.ok(&["hostname"]).trim(), host.trim());

    let n = d.ok(&["nodeinfo"]);
    assert!(n.contains("CPU model:           x86_64"), "{n}");
    assert!(n.contains("Memory size:"), "{n}");

    let caps = d.ok(&["capabilities"]);
    assert!(caps.contains("<capabilities>"), "{caps}");
    assert!(caps.contains("<arch>x86_64</arch>"), "{caps}");

    let empty = d.ok(&["list", "--all"]);
    assert!(!empty.contains("demo"), "{empty}");

    let xml = d.write("demo.xml", &d.domain_xml("demo"));
    assert!(d
        .ok(&["define", &xml])
        .contains("Domain 'demo' defined from"));
    let list = d.ok(&["list", "--all"]);
    assert!(
        list.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["-", "demo", "shut", "off"]),
        "{list}"
    );
    let info = d.ok(&["dominfo", "demo"]);
    assert!(info.contains("Id:             -"), "{info}");
    assert!(info.contains("State:          shut off"), "{info}");
    assert!(info.contains("Persistent:     yes"), "{info}");
    assert!(info.contains("OS Type:        hvm"), "{info}");
    assert_eq!(d.ok(&["domstate", "demo"]).trim(), "shut off");
    let dump = d.ok(&["dumpxml", "demo"]);
    assert!(dump.starts_with("<domain type='qemu'>"), "{dump}");
    assert!(dump.contains("<name>demo</name>"), "{dump}");

    // Lookup by uuid agrees with lookup by name.
    let uuid = d.ok(&["domuuid", "demo"]).trim().to_string();
    assert_eq!(d.ok(&["domname", &uuid]).trim(), "demo");

    let argv = d.ok(&["domxml-to-native", "qemu-argv", &xml]);
    assert!(argv.contains("qemu-system-x86_64"), "{argv}");
    assert!(argv.contains("-name guest=demo"), "{argv}");

    // Errors come back with libvirt's codes and messages.
    let missing = d.virsh(&["dominfo", "no-such-domain"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("error: failed to get domain 'no-such-domain'"),
        "{}",
        missing.stderr
    );

    // The read-only socket reads but refuses changes.
    let ro = d.virsh_on(&d.ro_uri(), &["list", "--all"]);
    assert_eq!(ro.code, 0, "{}", ro.stderr);
    assert!(ro.stdout.contains("demo"));
    let ro = d.virsh_on(&d.ro_uri(), &["undefine", "demo"]);
    assert_eq!(ro.code, 1);
    assert!(
        ro.stderr.contains("read only access prevents"),
        "{}",
        ro.stderr
    );
    // So does a read-only connection on the read-write socket (virsh -r).
    let ro = d.virsh(&["-r", "undefine", "demo"]);
    assert_eq!(ro.code, 1, "{}", ro.stdout);

    assert!(d
        .ok(&["undefine", "demo"])
        .contains("Domain 'demo' has been undefined"));
    assert!(!d.ok(&["list", "--all"]).contains("demo"));
}

#[test]
fn boot_rpc_virsh_lifecycle_and_events() {
    let d = Daemon::start();
    // Another client listens to every event.
    let events_path = d.path().join("events.txt");
    let mut listener = Command::new("virsh")
        .arg("-c")
        .arg(d.uri())
        .args(["event", "--all", "--loop"])
        .stdout(std::fs::File::create(&events_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let events = || std::fs::read_to_string(&events_path).unwrap_or_default();
    // Wait for the listener to be registered: define until it hears "Defined".
    let xml = d.write("demo.xml", &d.domain_xml("demo"));
    std::thread::sleep(Duration::from_millis(500));
    d.ok(&["define", &xml]);
    assert!(
        wait_until(Duration::from_secs(10), || events().contains("Defined")),
        "no Defined event: {}",
        events()
    );

    assert!(d.ok(&["start", "demo"]).contains("Domain 'demo' started"));
    let info = d.ok(&["dominfo", "demo"]);
    let id: i32 = info
        .lines()
        .find_map(|l| l.strip_prefix("Id:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{info}"));
    assert!(id > 0, "{info}");
    assert!(info.contains("State:          running"), "{info}");
    // Lookups by id, name and uuid agree; the id is stable.
    assert_eq!(d.ok(&["domname", &id.to_string()]).trim(), "demo");
    assert_eq!(d.ok(&["domid", "demo"]).trim(), id.to_string());
    let list = d.ok(&["list"]);
    assert!(
        list.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [id.to_string().as_str(), "demo", "running"]),
        "{list}"
    );
    assert_eq!(d.ok(&["domstate", "demo"]).trim(), "running");
    let live = d.ok(&["dumpxml", "demo"]);
    assert!(
        live.contains(&format!("<domain type='qemu' id='{id}'>")),
        "{live}"
    );

    let qmp = d.ok(&[
        "qemu-monitor-command",
        "demo",
        "--pretty",
        r#"{"execute":"query-status"}"#,
    ]);
    assert!(qmp.contains("\"status\": \"running\""), "{qmp}");

    assert!(d
        .ok(&["suspend", "demo"])
        .contains("Domain 'demo' suspended"));
    assert_eq!(d.ok(&["domstate", "demo"]).trim(), "paused");
    assert!(d.ok(&["resume", "demo"]).contains("Domain 'demo' resumed"));
    assert_eq!(d.ok(&["domstate", "demo"]).trim(), "running");

    // The read-only socket refuses destroy.
    let ro = d.virsh_on(&d.ro_uri(), &["destroy", "demo"]);
    assert_eq!(ro.code, 1, "{}", ro.stdout);
    assert!(
        ro.stderr
            .contains("read only access prevents virDomainDestroy"),
        "{}",
        ro.stderr
    );
    assert_eq!(d.ok(&["domstate", "demo"]).trim(), "running");

    assert!(d
        .ok(&["destroy", "demo"])
        .contains("Domain 'demo' destroyed"));
    assert!(d.ok(&["dominfo", "demo"]).contains("Id:             -"));
    assert!(d.ok(&["undefine", "demo"]).contains("has been undefined"));

    let want = [
        "event 'lifecycle' for domain 'demo': Defined Added",
        "event 'lifecycle' for domain 'demo': Started Booted",
        "event 'lifecycle' for domain 'demo': Suspended Paused",
        "event 'lifecycle' for domain 'demo': Resumed Unpaused",
        "event 'lifecycle' for domain 'demo': Stopped Destroyed",
        "event 'lifecycle' for domain 'demo': Undefined Removed",
    ];
    let ok = wait_until(Duration::from_secs(10), || {
        events().contains("Undefined Removed")
    });
    let _ = listener.kill();
    let _ = listener.wait();
    let got: Vec<String> = events()
        .lines()
        .filter(|l| l.starts_with("event "))
        .map(String::from)
        .collect();
    assert!(ok, "events: {got:?}");
    assert_eq!(got, want);
}

/// Send raw bytes as one client; returns what the server sent back before closing or
/// a 2 s silence.
fn raw_exchange(sock: &std::path::Path, bytes: &[u8]) -> Vec<u8> {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

fn frame(prog: u32, proc_: i32, serial: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((28 + payload.len()) as u32).to_be_bytes());
    for w in [prog, 1, proc_ as u32, 0, serial, 0] {
        v.extend_from_slice(&w.to_be_bytes());
    }
    v.extend_from_slice(payload);
    v
}

/// (status, error code) of the first reply in `bytes`.
fn reply_status(bytes: &[u8]) -> Option<(u32, i32)> {
    if bytes.len() < 32 {
        return None;
    }
    let w = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let status = w(24);
    let code = if status == 1 && bytes.len() >= 32 {
        w(28) as i32
    } else {
        0
    };
    Some((status, code))
}

#[test]
fn rpc_bad_input_gets_errors_and_the_daemon_keeps_serving() {
    let d = Daemon::start();
    let sock = d.socket();
    const REMOTE: u32 = 0x2000_8086;

    // Shorter than a header, and longer than 32 MiB: the connection is closed.
    assert!(raw_exchange(&sock, &[0, 0, 0, 8, 1, 2, 3, 4]).is_empty());
    assert!(raw_exchange(&sock, &[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]).is_empty());
    // Garbage type in the header: closed.
    let mut bad = frame(REMOTE, 66, 0, &[]);
    bad[16] = 0x55;
    assert!(raw_exchange(&sock, &bad).is_empty());

    // Unknown program, unknown procedure: VIR_ERR_RPC (39).
    assert_eq!(
        reply_status(&raw_exchange(&sock, &frame(0x1234_5678, 1, 0, &[]))),
        Some((1, 39))
    );
    assert_eq!(
        reply_status(&raw_exchange(&sock, &frame(REMOTE, 9999, 0, &[]))),
        Some((1, 39))
    );
    // A call before CONNECT_OPEN: internal error "connection not open".
    assert_eq!(
        reply_status(&raw_exchange(&sock, &frame(REMOTE, 3, 0, &[]))),
        Some((1, 1))
    );
    // Truncated / garbage XDR arguments: an RPC error reply, not a crash.
    let mut open = frame(REMOTE, 1, 0, &[0, 0, 0, 1, 0, 0, 0, 14]);
    open.extend_from_slice(b"qem");
    open[3] = open.len() as u8;
    assert_eq!(reply_status(&raw_exchange(&sock, &open)), Some((1, 39)));
    // AUTH_LIST works without opening.
    assert_eq!(
        reply_status(&raw_exchange(&sock, &frame(REMOTE, 66, 0, &[]))),
        Some((0, 0))
    );
    // A keepalive PING is answered with PONG.
    let mut ping = frame(0x6b65_6570, 1, 0, &[]);
    ping[19] = 2; // MESSAGE
    let pong = raw_exchange(&sock, &ping);
    assert!(pong.len() >= 28 && pong[15] == 2, "{pong:?}");
    // A client vanishing mid-message.
    {
        let mut s = UnixStream::connect(&sock).unwrap();
        s.write_all(&[0, 0, 1, 0, 0x20, 0, 0x80]).unwrap();
    }

    // Everyone else is still served.
    assert!(!d.ok(&["hostname"]).trim().is_empty());
    assert!(d.ok(&["list", "--all"]).contains("Name"));
    // And every connection's tasks ended (no leaked writer per client).
    let count = |what: &str| d.log().matches(what).count();
    assert!(
        wait_until(Duration::from_secs(5), || count("client connected")
            == count("client disconnected")),
        "connected {} vs disconnected {}",
        count("client connected"),
        count("client disconnected")
    );
    assert!(count("client connected") >= 10);
}

/// Our own CLI as an RPC client (`oxvirt -c qemu+unix:///system?socket=...`).
fn oxvirt(uri: &str, args: &[&str]) -> rpc_common::Out {
    let out = Command::new(rpc_common::bin("oxvirt"))
        .arg("-c")
        .arg(uri)
        .args(args)
        .output()
        .unwrap();
    rpc_common::Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn boot_rpc_oxvirt_cli_through_oxvirtd() {
    let d = Daemon::start();
    let uri = d.uri();
    let ok = |args: &[&str]| {
        let o = oxvirt(&uri, args);
        assert_eq!(o.code, 0, "oxvirt {args:?}: {}{}", o.stdout, o.stderr);
        o.stdout
    };
    assert!(ok(&["version"]).contains("Running hypervisor: QEMU "));
    let xml = d.write("cli.xml", &d.domain_xml("cli"));
    assert!(ok(&["define", &xml]).contains("Domain 'cli' defined"));
    assert!(ok(&["list", "--all"]).contains("cli"));
    assert!(ok(&["start", "cli"]).contains("Domain 'cli' started"));
    let id = ok(&["domid", "cli"]).trim().to_string();
    assert!(id.parse::<u32>().unwrap() > 0);
    // virsh sees the same id.
    assert_eq!(d.ok(&["domid", "cli"]).trim(), id);
    assert_eq!(
        ok(&["domstate", "--reason", "cli"]).trim(),
        "running (booted)"
    );
    assert!(ok(&["dominfo", "cli"]).contains("State:          running"));
    assert!(ok(&["dumpxml", "cli"]).contains(&format!("id='{id}'")));
    ok(&["suspend", "cli"]);
    assert_eq!(ok(&["domstate", "cli"]).trim(), "paused");
    ok(&["resume", "cli"]);
    let ro = oxvirt(&d.ro_uri(), &["destroy", "cli"]);
    assert_eq!(ro.code, 1);
    assert!(
        ro.stderr.contains("read only access prevents"),
        "{}",
        ro.stderr
    );
    ok(&["destroy", "cli"]);
    assert_eq!(ok(&["domstate", "cli"]).trim(), "shut off");
    let missing = oxvirt(&uri, &["dominfo", "nope"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("failed to get domain 'nope'"));
    ok(&["undefine", "cli"]);
    assert!(!ok(&["list", "--all"]).contains("cli"));
}

/// Our CLI against a real libvirtd (opt-in: `OXVIRT_TEST_LIBVIRTD=/path/to/libvirtd`, e.g.
/// from `apt-get download libvirt-daemon && dpkg -x ...`; libvirt-daemon-driver-qemu must
/// be installed). libvirtd runs as a private session daemon under uid 65534.
#[test]
fn boot_rpc_oxvirt_cli_against_real_libvirtd() {
    let Some(libvirtd) = std::env::var_os("OXVIRT_TEST_LIBVIRTD").filter(|v| !v.is_empty()) else {
        eprintln!("skipped: set OXVIRT_TEST_LIBVIRTD to a libvirtd binary to run this test");
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("oxlv")
        .tempdir_in("/tmp")
        .unwrap();
    let p = dir.path();
    std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (home, run, g) = (p.join("home"), p.join("run"), p.join("g"));
    std::fs::create_dir_all(home.join(".config/libvirt")).unwrap();
    std::fs::create_dir_all(&run).unwrap();
    std::fs::create_dir_all(&g).unwrap();
    std::fs::write(
        home.join(".config/libvirt/qemu.conf"),
        "stdio_handler = \"file\"\nsecurity_driver = \"none\"\n",
    )
    .unwrap();
    let guest = oxvirt_tests::guest();
    std::fs::copy(&guest.kernel, g.join("vmlinuz")).unwrap();
    std::fs::copy(&guest.initrd, g.join("initrd")).unwrap();
    let xml = format!(
        "<domain type='qemu'><name>lv</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{0}/vmlinuz</kernel>\
         <initrd>{0}/initrd</initrd><cmdline>console=ttyS0 quiet</cmdline></os>\
         <features><acpi/></features><devices><serial type='file'>\
         <source path='{0}/lv.serial'/><target port='0'/></serial></devices></domain>",
        g.display()
    );
    std::fs::write(g.join("lv.xml"), &xml).unwrap();
    for d in [&home, &run, &g] {
        assert!(Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(d)
            .status()
            .unwrap()
            .success());
    }
    let mut daemon = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "env",
            "-i",
        ])
        .arg(format!("HOME={}", home.display()))
        .arg(format!("XDG_RUNTIME_DIR={}", run.display()))
        .arg("PATH=/usr/bin:/bin")
        .arg(&libvirtd)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let sock = run.join("libvirt/libvirt-sock");
    let up = wait_until(Duration::from_secs(20), || sock.exists());
    let uri = format!("qemu+unix:///session?socket={}", sock.display());
    let run_ok = |args: &[&str]| {
        let o = oxvirt(&uri, args);
        assert_eq!(o.code, 0, "oxvirt {args:?}: {}{}", o.stdout, o.stderr);
        o.stdout
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert!(up, "libvirtd did not create {}", sock.display());
        let xml_path = g.join("lv.xml").display().to_string();
        assert!(run_ok(&["define", &xml_path]).contains("Domain 'lv' defined"));
        assert!(run_ok(&["start", "lv"]).contains("started"));
        let id = run_ok(&["domid", "lv"]).trim().to_string();
        assert!(run_ok(&["dominfo", "lv"]).contains(&format!("Id:             {id}")));
        assert_eq!(
            run_ok(&["domstate", "--reason", "lv"]).trim(),
            "running (booted)"
        );
        run_ok(&["suspend", "lv"]);
        assert_eq!(run_ok(&["domstate", "lv"]).trim(), "paused");
        run_ok(&["resume", "lv"]);
        assert!(run_ok(&["dumpxml", "lv"]).contains(&format!("id='{id}'")));
        run_ok(&["destroy", "lv"]);
        run_ok(&["undefine", "lv"]);
        assert_eq!(oxvirt(&uri, &["dominfo", "lv"]).code, 1);
    }));
    if result.is_err() {
        let _ = oxvirt(&uri, &["destroy", "lv"]);
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn rpc_socket_modes_and_session_instance() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // System instance: read-write 0700, read-only 0777; it serves qemu:///system only.
    let d = Daemon::start();
    assert_eq!(mode(&d.socket()), 0o700);
    assert_eq!(mode(&d.ro_socket()), 0o777);
    let wrong = d.virsh_on(
        &format!("qemu+unix:///session?socket={}", d.socket().display()),
        &["list"],
    );
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stderr.contains("this oxvirtd serves qemu:///system"),
        "{}",
        wrong.stderr
    );

    // Session instance: sockets under $XDG_RUNTIME_DIR/oxvirt, no read-only socket.
    let dir = tempfile::Builder::new()
        .prefix("oxs")
        .tempdir_in("/tmp")
        .unwrap();
    let mut child = Command::new(rpc_common::bin("oxvirtd"))
        .arg("--session")
        .arg("--root")
        .arg(dir.path().join("root"))
        .env("XDG_RUNTIME_DIR", dir.path())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let sock = dir.path().join("oxvirt/oxvirt-sock");
    let up = wait_until(Duration::from_secs(20), || sock.exists());
    let uri = format!("qemu+unix:///session?socket={}", sock.display());
    let out = Command::new("virsh")
        .args(["-c", &uri, "list", "--all"])
        .output()
        .unwrap();
    let ro_exists = dir.path().join("oxvirt/oxvirt-sock-ro").exists();
    let sock_mode = if up { mode(&sock) } else { 0 };
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "the session oxvirtd did not create {}", sock.display());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!ro_exists);
    assert_eq!(sock_mode, 0o700);
}

/// Events for changes oxvirtd did not make: a start by another process (the embedded
/// CLI on the same root) and a guest that powers itself off.
#[test]
fn boot_rpc_events_for_changes_made_elsewhere() {
    let d = Daemon::start();
    let events_path = d.path().join("events.txt");
    let mut listener = Command::new("virsh")
        .arg("-c")
        .arg(d.uri())
        .args(["event", "--all", "--loop"])
        .stdout(std::fs::File::create(&events_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let events = || std::fs::read_to_string(&events_path).unwrap_or_default();
    let xml = d.domain_xml("off").replace(
        oxvirt_tests::GUEST_CMDLINE,
        oxvirt_tests::GUEST_CMDLINE_POWEROFF,
    );
    let xml = d.write("off.xml", &xml);
    std::thread::sleep(Duration::from_millis(500));
    d.ok(&["define", &xml]);
    assert!(
        wait_until(Duration::from_secs(10), || events().contains("Defined")),
        "{}",
        events()
    );
    // Started by another process, not through oxvirtd.
    let embed = format!("qemu:///embed?root={}", d.root().display());
    let o = oxvirt(&embed, &["start", "off"]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let seen = wait_until(Duration::from_secs(120), || {
        events().contains("Stopped Shutdown")
    });
    let _ = listener.kill();
    let _ = listener.wait();
    let got: Vec<String> = events()
        .lines()
        .filter(|l| l.starts_with("event "))
        .map(String::from)
        .collect();
    assert!(seen, "{got:?}");
    assert_eq!(
        got,
        [
            "event 'lifecycle' for domain 'off': Defined Added",
            "event 'lifecycle' for domain 'off': Started Booted",
            "event 'lifecycle' for domain 'off': Shutdown Finished",
            "event 'lifecycle' for domain 'off': Stopped Shutdown",
        ]
    );
}

/// A driver from `plugin_dir` (the test driver plugin) served next to QEMU:
/// `virsh -c test+unix:///default?socket=...`.
#[test]
fn rpc_plugin_driver_through_oxvirtd() {
    const PLUGIN: &str = "liboxvirt_driver_test_plugin.so";
    let so = oxvirt_tests::harness::built_artifact(PLUGIN);
    let d = Daemon::start_with(|dir| {
        let plugins = dir.join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        std::fs::copy(&so, plugins.join(PLUGIN)).unwrap();
        vec!["--plugin-dir".into(), plugins.into()]
    });
    let test_uri = format!("test+unix:///default?socket={}", d.socket().display());
    let o = d.virsh_on(&test_uri, &["list", "--all"]);
    assert_eq!(o.code, 0, "{}{}\n{}", o.stdout, o.stderr, d.log());
    assert!(
        o.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "test", "running"]),
        "{}",
        o.stdout
    );
    let o = d.virsh_on(&test_uri, &["dominfo", "test"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("State:          running"), "{}", o.stdout);
    // The QEMU side is unaffected.
    assert!(d.ok(&["list", "--all"]).contains("Name"));
    // qemu:///session is not this instance's, and never loops back through the
    // remote client driver.
    let o = d.virsh_on(
        &format!("qemu+unix:///session?socket={}", d.socket().display()),
        &["list"],
    );
    assert_eq!(o.code, 1);
}
