//! End-to-end: stock `virsh` (libvirt-clients 9.0, no libvirt daemon) drives a real
//! `oxvirtd` over `qemu+unix:///system?socket=PATH`: host and definition commands, the
//! read-only socket, the lifecycle with its events, and events for changes made by
//! another process. Bad input on raw sockets: `rpc_bad_input.rs`; our CLI as the
//! client: `rpc_cli.rs`; instances, sockets, plugins: `rpc_instances.rs`.
//!
//! Tests named `boot_*` boot the real test guest under TCG (see `.config/nextest.toml`).

mod rpc_common;

use rpc_common::{oxvirt, Daemon, EventListener};
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
    // A procedure oxvirt does not implement: libvirt's NO_SUPPORT naming the API.
    let reboot = d.virsh(&["reboot", "demo"]);
    assert_eq!(reboot.code, 1);
    assert!(
        reboot
            .stderr
            .contains("this function is not supported by the connection driver: virDomainReboot"),
        "{}",
        reboot.stderr
    );

    assert!(d
        .ok(&["undefine", "demo"])
        .contains("Domain 'demo' has been undefined"));
    assert!(!d.ok(&["list", "--all"]).contains("demo"));
}

#[test]
fn boot_rpc_virsh_lifecycle_and_events() {
    let d = Daemon::start();
    // Another client listens to every event.
    let listener = EventListener::start(&d);
    // Wait for the listener to be registered: define until it hears "Defined".
    let xml = d.write("demo.xml", &d.domain_xml("demo"));
    std::thread::sleep(Duration::from_millis(500));
    d.ok(&["define", &xml]);
    assert!(
        listener.wait_for("Defined", Duration::from_secs(10)),
        "no Defined event: {}",
        listener.text()
    );
    assert!(d.ok(&["start", "demo"]).contains("Domain 'demo' started"));
    running_domain_answers(&d);
    pause_resume_and_read_only_destroy(&d);
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
    let ok = listener.wait_for("Undefined Removed", Duration::from_secs(10));
    let got = listener.finish();
    assert!(ok, "events: {got:?}");
    assert_eq!(got, want);
}

/// dominfo, the id by every lookup, list, domstate, the live XML, the QEMU monitor.
fn running_domain_answers(d: &Daemon) {
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
}

fn pause_resume_and_read_only_destroy(d: &Daemon) {
    assert!(d
        .ok(&["suspend", "demo"])
        .contains("Domain 'demo' suspended"));
    assert_eq!(d.ok(&["domstate", "demo"]).trim(), "paused");
    assert!(d.ok(&["resume", "demo"]).contains("Domain 'demo' resumed"));
    assert_eq!(d.ok(&["domstate", "demo"]).trim(), "running");
    // The read-only socket refuses destroy and the monitor.
    let ro = d.virsh_on(&d.ro_uri(), &["destroy", "demo"]);
    assert_eq!(ro.code, 1, "{}", ro.stdout);
    assert!(
        ro.stderr
            .contains("read only access prevents virDomainDestroy"),
        "{}",
        ro.stderr
    );
    let ro = d.virsh_on(
        &d.ro_uri(),
        &["qemu-monitor-command", "demo", r#"{"execute":"quit"}"#],
    );
    assert!(
        ro.stderr
            .contains("read only access prevents virDomainQemuMonitorCommand"),
        "{}",
        ro.stderr
    );
    assert_eq!(d.ok(&["domstate", "demo"]).trim(), "running");
}

/// Events for changes oxvirtd did not make: a start by another process (the embedded
/// CLI on the same root) and a guest that powers itself off.
#[test]
fn boot_rpc_events_for_changes_made_elsewhere() {
    let d = Daemon::start();
    let listener = EventListener::start(&d);
    let xml = d.domain_xml("off").replace(
        oxvirt_tests::GUEST_CMDLINE,
        oxvirt_tests::GUEST_CMDLINE_POWEROFF,
    );
    let xml = d.write("off.xml", &xml);
    std::thread::sleep(Duration::from_millis(500));
    d.ok(&["define", &xml]);
    assert!(
        listener.wait_for("Defined", Duration::from_secs(10)),
        "{}",
        listener.text()
    );
    // Started by another process, not through oxvirtd.
    let embed = format!("qemu:///embed?root={}", d.root().display());
    let o = oxvirt(&embed, &["start", "off"]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let seen = listener.wait_for("Stopped Shutdown", Duration::from_secs(120));
    let got = listener.finish();
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
