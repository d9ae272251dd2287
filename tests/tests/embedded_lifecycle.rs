//! End-to-end: the `oxvirt` CLI drives real QEMU through `qemu:///embed?root=DIR`.
//!
//! Tests named `boot_*` boot the real test guest under TCG (a few seconds each; see
//! `.config/nextest.toml`). Every `oxvirt` invocation is a new process, so each step
//! also checks that a later process finds and manages what an earlier one started.

use oxvirt_tests::harness::{built_binary, guest_domain_xml, process_gone, EmbedRoot};
use oxvirt_tests::{
    guest, wait_for_file_contains, GUEST_CMDLINE, GUEST_CMDLINE_POWEROFF, GUEST_CMDLINE_REBOOT,
    GUEST_READY_MARKER,
};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

type Root = EmbedRoot;

fn new_root() -> Root {
    EmbedRoot::new("oxv")
}

fn guest_xml(root: &Root, name: &str, cmdline: &str, extra: &str) -> String {
    guest_domain_xml(
        name,
        cmdline,
        &root.path().join(format!("{name}.serial")),
        extra,
    )
}

fn wait_file_contains(path: &Path, needle: &str, timeout: Duration) -> bool {
    wait_for_file_contains(path, needle, timeout)
}

const BOOT_TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn boot_lifecycle_states_and_reasons() {
    let root = new_root();
    let xml = root.write("demo.xml", &guest_xml(&root, "demo", GUEST_CMDLINE, ""));
    assert!(root
        .ok(&["define", &xml])
        .contains("Domain 'demo' defined from"));
    assert_eq!(root.state("demo"), "shut off (unknown)");
    assert_eq!(root.ok(&["start", "demo"]), "Domain 'demo' started\n\n");
    assert!(
        wait_file_contains(
            &root.path().join("demo.serial"),
            GUEST_READY_MARKER,
            BOOT_TIMEOUT
        ),
        "no guest marker on the serial file"
    );
    assert_eq!(root.state("demo"), "running (booted)");
    let pid = root
        .status_attr("demo", "pid")
        .expect("status file with pid");
    let id = root.status_attr("demo", "id").unwrap();

    // Lookups by name, id and uuid agree.
    let uuid = root.ok(&["domuuid", "demo"]).trim().to_string();
    assert_eq!(root.ok(&["domname", &id.to_string()]).trim(), "demo");
    assert_eq!(root.ok(&["domid", &uuid]).trim(), id.to_string());

    let list = root.ok(&["list"]);
    assert!(list.contains(&format!(" {id}    demo   running")), "{list}");

    root.ok(&["suspend", "demo"]);
    assert_eq!(root.state("demo"), "paused (user)");
    root.ok(&["resume", "demo"]);
    assert_eq!(root.state("demo"), "running (unpaused)");

    let info = root.ok(&["dominfo", "demo"]);
    assert!(info.contains(&format!("Id:             {id}\n")), "{info}");
    assert!(info.contains("State:          running\n"), "{info}");
    assert!(info.contains("Max memory:     262144 KiB\n"), "{info}");
    assert!(info.contains("CPU time:"), "{info}");

    let live = root.ok(&["dumpxml", "demo"]);
    assert!(
        live.contains(&format!("<domain type='qemu' id='{id}'>")),
        "{live}"
    );
    let inactive = root.ok(&["dumpxml", "--inactive", "demo"]);
    assert!(inactive.starts_with("<domain type='qemu'>"), "{inactive}");

    // The domain log holds the argv, like libvirt's.
    let log = std::fs::read_to_string(root.path().join("log/qemu/demo.log")).unwrap();
    assert!(log.contains("-name guest=demo"), "{log}");

    let again = root.run(&["start", "demo"]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("error: Domain is already active"),
        "{}",
        again.stderr
    );

    assert_eq!(root.ok(&["destroy", "demo"]), "Domain 'demo' destroyed\n\n");
    assert_eq!(root.state("demo"), "shut off (destroyed)");
    assert!(process_gone(pid), "QEMU pid {pid} still runs after destroy");
    assert!(!root.path().join("run/qemu/demo.xml").exists());
    assert!(
        root.ok(&["list"]).lines().count() == 3,
        "nothing listed as running"
    );
    let twice = root.run(&["destroy", "demo"]);
    assert_eq!(twice.code, 1);
    assert!(
        twice.stderr.contains("domain is not running"),
        "{}",
        twice.stderr
    );
}

#[test]
fn boot_guest_poweroff_ends_shut_off() {
    let root = new_root();
    let xml = root.write(
        "p.xml",
        &guest_xml(&root, "poweroff", GUEST_CMDLINE_POWEROFF, ""),
    );
    root.ok(&["define", &xml]);
    root.ok(&["start", "poweroff"]);
    let pid = root.status_attr("poweroff", "pid");
    assert_eq!(
        root.wait_state("poweroff", "shut off (shutdown)", BOOT_TIMEOUT),
        "shut off (shutdown)"
    );
    let serial = std::fs::read_to_string(root.path().join("poweroff.serial")).unwrap();
    assert!(serial.contains(GUEST_READY_MARKER), "{serial}");
    if let Some(pid) = pid {
        assert!(process_gone(pid));
    }
}

#[test]
fn boot_shutdown_presses_the_power_button_and_waits() {
    let root = new_root();
    let xml = root.write("s.xml", &guest_xml(&root, "acpi", GUEST_CMDLINE, ""));
    root.ok(&["define", &xml]);
    root.ok(&["start", "acpi"]);
    assert!(wait_file_contains(
        &root.path().join("acpi.serial"),
        GUEST_READY_MARKER,
        BOOT_TIMEOUT
    ));
    assert_eq!(
        root.ok(&["shutdown", "acpi"]),
        "Domain 'acpi' is being shutdown\n\n"
    );
    assert_eq!(root.state("acpi"), "shut off (shutdown)");
}

#[test]
fn boot_on_reboot_destroy_and_transient_create() {
    let root = new_root();
    // A transient domain: gone from the list once it stops.
    let xml = root.write(
        "t.xml",
        &guest_xml(
            &root,
            "transient",
            GUEST_CMDLINE_POWEROFF,
            "<on_poweroff>destroy</on_poweroff>",
        ),
    );
    assert!(root
        .ok(&["create", &xml])
        .contains("Domain 'transient' created from"));
    let deadline = Instant::now() + BOOT_TIMEOUT;
    while root.ok(&["list", "--all", "--name"]).contains("transient") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!root.ok(&["list", "--all", "--name"]).contains("transient"));
}

fn marker_count(root: &Root, name: &str) -> usize {
    std::fs::read_to_string(root.path().join(format!("{name}.serial")))
        .map(|t| t.matches(GUEST_READY_MARKER).count())
        .unwrap_or(0)
}

#[test]
fn boot_lifecycle_actions_restart_and_destroy() {
    let root = new_root();
    // on_poweroff=restart: a guest that powers off is reset and boots again.
    let xml = root.write(
        "r.xml",
        &guest_xml(
            &root,
            "again",
            GUEST_CMDLINE_POWEROFF,
            "<on_poweroff>restart</on_poweroff>",
        ),
    );
    root.ok(&["define", &xml]);
    root.ok(&["start", "again"]);
    let deadline = Instant::now() + BOOT_TIMEOUT * 2;
    while marker_count(&root, "again") < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        marker_count(&root, "again") >= 2,
        "the guest booted again after powering off"
    );
    assert_eq!(root.state("again"), "running (booted)");
    root.ok(&["destroy", "again"]);

    // on_reboot=destroy: a guest that reboots ends shut off.
    let xml = root.write(
        "d.xml",
        &guest_xml(
            &root,
            "noreboot",
            GUEST_CMDLINE_REBOOT,
            "<on_reboot>destroy</on_reboot>",
        ),
    );
    root.ok(&["define", &xml]);
    root.ok(&["start", "noreboot"]);
    assert_eq!(
        root.wait_state("noreboot", "shut off (shutdown)", BOOT_TIMEOUT),
        "shut off (shutdown)"
    );
    assert_eq!(marker_count(&root, "noreboot"), 1);

    // on_reboot=restart (the default): a rebooting guest keeps running.
    let xml = root.write(
        "k.xml",
        &guest_xml(&root, "reboots", GUEST_CMDLINE_REBOOT, ""),
    );
    root.ok(&["define", &xml]);
    root.ok(&["start", "reboots"]);
    let deadline = Instant::now() + BOOT_TIMEOUT * 2;
    while marker_count(&root, "reboots") < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(marker_count(&root, "reboots") >= 2);
    assert_eq!(root.state("reboots"), "running (booted)");
}

#[test]
fn boot_a_new_supervisor_adopts_a_running_vm() {
    let root = new_root();
    let xml = root.write("a.xml", &guest_xml(&root, "adopt", GUEST_CMDLINE, ""));
    root.ok(&["define", &xml]);
    root.ok(&["start", "adopt"]);
    assert!(wait_file_contains(
        &root.path().join("adopt.serial"),
        GUEST_READY_MARKER,
        BOOT_TIMEOUT
    ));
    let pid = root.status_attr("adopt", "pid").unwrap();
    let sup = root.status_attr("adopt", "supervisor").unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sup as i32),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !process_gone(sup) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // QEMU survived its supervisor; the next process finds it and takes it over.
    assert!(!process_gone(pid));
    assert_eq!(root.state("adopt"), "running (booted)");
    let new_sup = root.status_attr("adopt", "supervisor").unwrap();
    assert_ne!(new_sup, sup, "a new supervisor took over");
    root.ok(&["suspend", "adopt"]);
    assert_eq!(root.state("adopt"), "paused (user)");
    root.ok(&["destroy", "adopt"]);
    assert_eq!(root.state("adopt"), "shut off (destroyed)");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !process_gone(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(process_gone(pid), "adopted QEMU {pid} survived destroy");
}

#[test]
fn bad_input_is_refused_and_leaves_nothing() {
    let root = new_root();
    // Malformed XML: line and column.
    let bad = root.write("bad.xml", "<domain type='qemu'>\n  <name>x</name\n");
    let o = root.run(&["define", &bad]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.starts_with("error: Failed to define domain from"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("line 2") || o.stderr.contains(":2:"),
        "{}",
        o.stderr
    );

    // A name with '/'.
    let slash = root.write("slash.xml", &guest_xml(&root, "a/b", GUEST_CMDLINE, ""));
    let o = root.run(&["define", &slash]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains('/'), "{}", o.stderr);

    // Same uuid, other name; same name, other uuid.
    let one = guest_xml(&root, "one", GUEST_CMDLINE, "").replace(
        "<name>one</name>",
        "<name>one</name><uuid>11111111-2222-3333-4444-555555555555</uuid>",
    );
    root.ok(&["define", &root.write("one.xml", &one)]);
    let two = one.replace("<name>one</name>", "<name>two</name>");
    let o = root.run(&["define", &root.write("two.xml", &two)]);
    assert!(
        o.stderr
            .contains("domain 'one' is already defined with uuid"),
        "{}",
        o.stderr
    );
    let one_b = one.replace(
        "11111111-2222-3333-4444-555555555555",
        "11111111-2222-3333-4444-666666666666",
    );
    let o = root.run(&["define", &root.write("oneb.xml", &one_b)]);
    assert!(
        o.stderr.contains("domain 'one' already exists with uuid"),
        "{}",
        o.stderr
    );

    // A missing kernel: clear error, nothing left running.
    let missing = guest_xml(&root, "nokernel", GUEST_CMDLINE, "").replace(
        &guest().kernel.display().to_string(),
        "/nonexistent/vmlinuz",
    );
    root.ok(&["define", &root.write("nk.xml", &missing)]);
    let o = root.run(&["start", "nokernel"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("/nonexistent/vmlinuz"), "{}", o.stderr);
    assert!(!root.path().join("run/qemu/nokernel.xml").exists());
    assert_eq!(root.state("nokernel"), "shut off (unknown)");

    // A missing emulator.
    let noemu = guest_xml(&root, "noemu", GUEST_CMDLINE, "").replace(
        "<devices>",
        "<devices><emulator>/usr/bin/qemu-kvm-nonexistent</emulator>",
    );
    let o = root.run(&["define", &root.write("ne.xml", &noemu)]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr
            .contains("Cannot find QEMU binary /usr/bin/qemu-kvm-nonexistent"),
        "{}",
        o.stderr
    );
    assert!(!root.path().join("etc/qemu/noemu.xml").exists());

    // A missing disk.
    let nodisk = guest_xml(&root, "nodisk", GUEST_CMDLINE, "").replace(
        "<devices>",
        "<devices><disk type='file' device='disk'><source file='/nonexistent.img'/><target dev='vda' bus='virtio'/></disk>",
    );
    root.ok(&["define", &root.write("nd.xml", &nodisk)]);
    let o = root.run(&["start", "nodisk"]);
    assert!(o.stderr.contains("/nonexistent.img"), "{}", o.stderr);

    // Unknown domain.
    let o = root.run(&["dominfo", "ghost"]);
    assert_eq!(o.code, 1);
    assert_eq!(o.stderr, "error: failed to get domain 'ghost'\n");

    // No QEMU was left behind by any of this.
    assert_eq!(
        std::fs::read_dir(root.path().join("run/qemu"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".xml"))
            .count(),
        0
    );
}

#[test]
fn a_root_too_long_for_socket_paths_is_refused_with_a_hint() {
    let base = tempfile::Builder::new()
        .prefix("oxv")
        .tempdir_in("/tmp")
        .unwrap();
    let long = base.path().join("x".repeat(90));
    std::fs::create_dir_all(&long).unwrap();
    let uri = format!("qemu:///embed?root={}", long.display());
    let g = guest();
    let xml = format!(
        "<domain type='qemu'><name>longroot</name><memory unit='MiB'>64</memory>\
         <os><type>hvm</type><kernel>{}</kernel></os></domain>",
        g.kernel.display()
    );
    let f = long.join("d.xml");
    std::fs::write(&f, xml).unwrap();
    let run = |args: &[&str]| {
        Command::new(built_binary("oxvirt"))
            .arg("-c")
            .arg(&uri)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&["define", f.to_str().unwrap()]).status.success());
    let o = run(&["start", "longroot"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("shorter"), "{err}");
    assert!(!long.join("run/qemu/longroot.xml").exists());
}

#[test]
fn boot_vnc_autoport_gets_a_real_port_and_its_password() {
    use std::io::Read;
    let root = new_root();
    let graphics = "<devices><graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1' passwd='s3cret'/>";
    let xml = guest_xml(&root, "vnc", GUEST_CMDLINE, "").replace("<devices>", graphics);
    root.ok(&["define", &root.write("vnc.xml", &xml)]);
    root.ok(&["start", "vnc"]);
    let live = root.ok(&["dumpxml", "vnc"]);
    assert!(
        !live.contains("s3cret"),
        "no password without --security-info: {live}"
    );
    let secure = root.ok(&["dumpxml", "--security-info", "vnc"]);
    assert!(secure.contains("passwd='s3cret'"), "{secure}");
    let port: u16 = live
        .split("<graphics type='vnc' port='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .and_then(|p| p.parse().ok())
        .expect("the live XML names the port QEMU took");
    assert!(port >= 5900, "{live}");
    let vnc = root.ok(&["qemu-monitor-command", "vnc", r#"{"execute":"query-vnc"}"#]);
    assert!(vnc.contains(&format!("\"service\":\"{port}\"")), "{vnc}");
    assert!(
        vnc.contains("\"auth\":\"vnc\""),
        "VNC password authentication: {vnc}"
    );
    // A real RFB server answers on that port.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut banner = [0u8; 12];
    s.read_exact(&mut banner).unwrap();
    assert_eq!(&banner, b"RFB 003.008\n");
}
