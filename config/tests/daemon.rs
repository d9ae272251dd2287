//! oxvirtd.toml: libvirtd.conf's defaults, where the file is, every key, and errors that
//! name the file, line, key, problem and fix.

use oxvirt_config::*;
use std::path::{Path, PathBuf};

const D: &str = "/etc/oxvirt/oxvirtd.toml";

fn ok(text: &str) -> DaemonConfig {
    DaemonConfig::parse(Path::new(D), text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn err(text: &str) -> String {
    match DaemonConfig::parse(Path::new(D), text) {
        Ok(c) => panic!("{text:?} should fail, parsed as {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn defaults_are_libvirtds() {
    let c = DaemonConfig::default();
    assert_eq!(c.max_clients, 5000);
    assert_eq!(c.max_anonymous_clients, 20);
    assert_eq!(c.min_workers, 5);
    assert_eq!(c.max_workers, 20);
    assert_eq!(c.prio_workers, 5);
    assert_eq!(c.max_requests, 20);
    assert_eq!(c.max_client_requests, 5);
    assert_eq!(c.keepalive_interval, 5);
    assert_eq!(c.keepalive_count, 5);
    assert_eq!(c.incomplete_frame_timeout, 10);
    c.validate(Path::new(D)).unwrap();
    assert_eq!(ok("# nothing\n"), c);
}

#[test]
fn file_locations() {
    let p = |i, x: Option<&str>, h: Option<&str>| {
        file_path_with(&i, DAEMON_FILE, x.map(PathBuf::from), h.map(PathBuf::from)).unwrap()
    };
    assert_eq!(p(Instance::System, Some("/x"), None), PathBuf::from(D));
    assert_eq!(
        p(Instance::Session, Some("/x"), Some("/h")),
        PathBuf::from("/x/oxvirt/oxvirtd.toml")
    );
    assert_eq!(
        p(Instance::Session, None, Some("/h")),
        PathBuf::from("/h/.config/oxvirt/oxvirtd.toml")
    );
}

#[test]
fn missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("oxvirtd.toml");
    assert_eq!(
        DaemonConfig::load_or_default(&f).unwrap(),
        DaemonConfig::default()
    );
    // `--config FILE` names a file that must exist.
    let e = DaemonConfig::load(&f).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("Cannot read config file '{}'", f.display())),
        "{e}"
    );
    std::fs::write(&f, "max_clients = 3\n").unwrap();
    assert_eq!(DaemonConfig::load(&f).unwrap().max_clients, 3);
}

#[test]
fn every_key_parses() {
    let c = ok(r#"
max_clients = 100
max_anonymous_clients = 0
min_workers = 1
max_workers = 4
prio_workers = 0
max_requests = 8
max_client_requests = 2
keepalive_interval = -1
keepalive_count = 0
incomplete_frame_timeout = 3
"#);
    let want = DaemonConfig {
        max_clients: 100,
        max_anonymous_clients: 0,
        min_workers: 1,
        max_workers: 4,
        prio_workers: 0,
        max_requests: 8,
        max_client_requests: 2,
        keepalive_interval: -1,
        keepalive_count: 0,
        incomplete_frame_timeout: 3,
    };
    assert_eq!(c, want);
    assert_eq!(ok("keepalive_interval = 30").keepalive_interval, 30);
}

#[test]
fn sections_own_every_key_once() {
    let mut owned: Vec<&str> = sections::daemon().concat();
    owned.sort();
    let mut known = DAEMON_KEYS.to_vec();
    known.sort();
    assert_eq!(owned, known);
}

#[test]
fn unknown_keys_list_the_daemons_keys() {
    let e = err("max_clients = 10\nmax_queued_clients = 1000\n");
    assert_eq!(
        e,
        format!(
            "{D}:2: unknown key 'max_queued_clients' (known keys: {})",
            DAEMON_KEYS.join(", ")
        )
    );
    assert!(e.contains("known keys: max_clients, max_anonymous_clients, min_workers"));
    // A qemu.toml key is not an oxvirtd.toml key.
    assert!(err("user = \"qemu\"").starts_with(&format!("{D}:1: unknown key 'user'")));
}

#[test]
fn wrong_types_and_negative_counts() {
    assert_eq!(
        err("\nmax_workers = \"20\""),
        format!("{D}:2: key 'max_workers': expected a non-negative integer, found a string")
    );
    assert_eq!(
        err("max_client_requests = -5"),
        format!("{D}:1: key 'max_client_requests': -5 is negative; use 0 or a positive integer")
    );
    assert_eq!(
        err("keepalive_interval = true"),
        format!("{D}:1: key 'keepalive_interval': expected an integer, found a boolean")
    );
}

#[test]
fn values_out_of_range_say_the_fix() {
    let cases = [
        ("max_clients = 0", "max_clients': 0 is out of range; use 1 to 1000000 clients (libvirtd's default is 5000)"),
        ("max_workers = 0", "max_workers': 0 is out of range; use 1 to 10000 threads (libvirtd's default is 20)"),
        ("max_requests = 0", "max_requests': 0 is out of range; use 1 to 1000000 calls"),
        ("max_client_requests = 0", "max_client_requests': 0 is out of range; use 1 to 10000 calls (libvirtd's default is 5)"),
        ("keepalive_interval = 0", "keepalive_interval': 0 is out of range; use -1 (never PING) or 1 to 3600 seconds"),
        ("keepalive_interval = -2", "keepalive_interval': -2 is out of range; use -1 (never PING) or 1 to 3600 seconds"),
        ("keepalive_count = 1001", "keepalive_count': 1001 is out of range; use 0 to 1000 PINGs"),
        ("incomplete_frame_timeout = 0", "incomplete_frame_timeout': 0 is out of range; use 1 to 3600 seconds"),
        ("max_anonymous_clients = 2000000", "max_anonymous_clients': 2000000 is out of range; use 0 (no limit) or up to 1000000 clients (libvirtd's default is 20)"),
    ];
    for (text, msg) in cases {
        assert_eq!(err(text), format!("{D}:1: key '{msg}"), "{text}");
    }
}

#[test]
fn min_workers_above_max_is_lowered_like_libvirt() {
    let c = ok("min_workers = 50\nmax_workers = 4");
    assert_eq!(c.effective_min_workers(), 4);
    assert_eq!(DaemonConfig::default().effective_min_workers(), 5);
}

#[test]
fn validate_checks_configs_built_in_code() {
    let c = DaemonConfig {
        max_workers: 0,
        ..Default::default()
    };
    let e = c.validate(Path::new(D)).unwrap_err();
    assert_eq!(e.key(), Some("max_workers"));
    assert_eq!(e.line(), None);
}
