//! End-to-end: how `oxvirtd` instances are set up: socket modes, the URI each serves, a
//! `--session` daemon, driver plugins served next to QEMU, and its configuration file
//! (`--config`: errors name file, line and key; the limits it sets are logged).

mod rpc_common;

use rpc_common::{wait_until, Daemon};
use std::process::{Command, Stdio};
use std::time::Duration;

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

#[test]
fn rpc_daemon_config_errors_stop_the_daemon_and_name_file_line_and_key() {
    let dir = tempfile::Builder::new()
        .prefix("oxc")
        .tempdir_in("/tmp")
        .unwrap();
    let run = |conf: &std::path::Path| {
        Command::new(rpc_common::bin("oxvirtd"))
            .arg("--config")
            .arg(conf)
            .arg("--socket-dir")
            .arg(dir.path().join("s"))
            .arg("--root")
            .arg(dir.path().join("root"))
            .output()
            .unwrap()
    };
    let conf = dir.path().join("oxvirtd.toml");
    std::fs::write(&conf, "max_clients = 10\nmax_worker = 4\n").unwrap();
    let o = run(&conf);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "oxvirtd: error: {}:2: unknown key 'max_worker' (known keys: max_clients, ",
            conf.display()
        )),
        "{err}"
    );
    std::fs::write(&conf, "max_workers = 0\n").unwrap();
    let err = String::from_utf8_lossy(&run(&conf).stderr).into_owned();
    assert!(
        err.contains(":1: key 'max_workers': 0 is out of range"),
        "{err}"
    );
    let missing = dir.path().join("nope.toml");
    let err = String::from_utf8_lossy(&run(&missing).stderr).into_owned();
    assert!(
        err.contains(&format!("Cannot read config file '{}'", missing.display())),
        "{err}"
    );
    assert!(!dir.path().join("s/oxvirt-sock").exists());
}

#[test]
fn rpc_daemon_config_sets_the_limits() {
    let d = Daemon::start_with(|dir| {
        let conf = dir.join("oxvirtd.toml");
        std::fs::write(&conf, "max_clients = 77\nmax_client_requests = 3\n").unwrap();
        vec!["--config".into(), conf.into()]
    });
    let log = d.log();
    assert!(log.contains("max_clients=77 "), "{log}");
    assert!(log.contains("max_client_requests=3 "), "{log}");
    assert!(log.contains("daemon configuration from "), "{log}");
    assert!(d.ok(&["list", "--all"]).contains("Name"));
}
