//! End-to-end: our own CLI as an RPC client (`oxvirt -c qemu+unix:///system?socket=...`)
//! through a real `oxvirtd`, and (opt-in) against a real libvirtd.

mod rpc_common;

use rpc_common::{oxvirt, wait_until, Daemon};
use std::process::{Command, Stdio};
use std::time::Duration;

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

/// Our CLI against a real libvirtd: Debian's `/usr/sbin/libvirtd` (package
/// `libvirt-daemon`, installed by `.ci/run`; it ships no units, so nothing else starts)
/// or `$OXVIRT_TEST_LIBVIRTD`. libvirtd runs as a private session daemon under uid 65534.
#[test]
fn boot_rpc_oxvirt_cli_against_real_libvirtd() {
    let libvirtd = std::env::var_os("OXVIRT_TEST_LIBVIRTD")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/usr/sbin/libvirtd".into());
    assert!(
        libvirtd.is_file(),
        "{} is missing: install the libvirt-daemon package (or set OXVIRT_TEST_LIBVIRTD)",
        libvirtd.display()
    );
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
    let mut daemon = spawn_session_libvirtd(&libvirtd, &home, &run);
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

/// A private session libvirtd as uid 65534 with its own HOME and XDG_RUNTIME_DIR.
fn spawn_session_libvirtd(
    libvirtd: &std::path::Path,
    home: &std::path::Path,
    run: &std::path::Path,
) -> std::process::Child {
    Command::new("setpriv")
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
        .arg(libvirtd)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}
