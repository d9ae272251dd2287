//! Many domains through oxvirtd (python3-libvirt 9.0, Debian's `/usr/bin/python3`), with
//! another process — the embedded CLI on the same root — defining and starting domains
//! at the same time: the daemon's domain table must see the other process's changes
//! (inotify, the supervisors' notifications) and, after a restart, list every domain
//! with its state in one call.

mod rpc_common;

use rpc_common::{oxvirt, tail, Daemon, EventListener};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

/// Domains defined through the daemon.
const MANY: usize = 2000;
/// Domains the embedded CLI defines meanwhile; the first [`BOOTED`] it also starts.
const OTHERS: usize = 10;
const BOOTED: usize = 2;

const DEFINE: &str = r#"
import libvirt, sys, uuid
c = libvirt.open(sys.argv[1])
X = ("<domain type='qemu'><name>{n}</name><uuid>{u}</uuid><memory unit='MiB'>128</memory>"
     "<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>")
for i in range(int(sys.argv[2])):
    c.defineXML(X.format(n=f"many-{i}", u=uuid.uuid5(uuid.NAMESPACE_DNS, f"many-{i}")))
print("defined")
"#;

/// One listAllDomains call: "NAME STATE ID" per domain.
const LIST: &str = r#"
import libvirt, sys
c = libvirt.open(sys.argv[1])
for d in c.listAllDomains(0):
    print(d.name(), d.state()[0], d.ID())
"#;

fn python(d: &Daemon, script: &str, args: &[&str]) -> String {
    let path = d.write("script.py", script);
    let out = Command::new("/usr/bin/python3")
        .arg(&path)
        .arg(d.uri())
        .args(args)
        .output()
        .expect("/usr/bin/python3 with python3-libvirt must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed:\n{stdout}\n{}\n--- oxvirtd log tail:\n{}",
        String::from_utf8_lossy(&out.stderr),
        tail(&d.log(), 30)
    );
    stdout
}

/// name → (state number, id) from one listAllDomains call.
fn listing(d: &Daemon) -> BTreeMap<String, (i32, i32)> {
    let d_write = d.write("list.py", LIST);
    let out = Command::new("/usr/bin/python3")
        .arg(&d_write)
        .arg(d.uri())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                f[0].to_string(),
                (f[1].parse().unwrap(), f[2].parse().unwrap()),
            )
        })
        .collect()
}

/// The embedded CLI on the daemon's root: defines [`OTHERS`] guests once the daemon has
/// some of its own, starts the first [`BOOTED`].
fn other_process(root: std::path::PathBuf, d_dir: std::path::PathBuf, xmls: Vec<String>) {
    let embed = format!("qemu:///embed?root={}", root.display());
    let defs = root.join("etc/qemu");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_dir(&defs).map(|r| r.count()).unwrap_or(0) < 100 {
        assert!(Instant::now() < deadline, "the daemon defined nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    for (i, xml) in xmls.iter().enumerate() {
        let path = d_dir.join(format!("other-{i}.xml"));
        std::fs::write(&path, xml).unwrap();
        let o = oxvirt(&embed, &["define", &path.display().to_string()]);
        assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
        if i < BOOTED {
            let o = oxvirt(&embed, &["start", &format!("other-{i}")]);
            assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
        }
    }
}

/// Every domain listed once, with the state it has.
fn check_listing(d: &Daemon, when: &str) {
    let got = listing(d);
    assert_eq!(
        got.len(),
        MANY + OTHERS,
        "{when}: {} domains listed",
        got.len()
    );
    for i in 0..MANY {
        let (state, id) = got[&format!("many-{i}")];
        assert_eq!((state, id), (5, -1), "{when}: many-{i} should be shut off");
    }
    for i in 0..OTHERS {
        let (state, id) = got[&format!("other-{i}")];
        if i < BOOTED {
            assert_eq!(state, 1, "{when}: other-{i} should be running");
            assert!(id > 0, "{when}: other-{i} has no id");
        } else {
            assert_eq!((state, id), (5, -1), "{when}: other-{i} should be shut off");
        }
    }
}

#[test]
fn boot_rpc_scale_2000_domains_survive_a_restart_beside_another_writer() {
    let mut d = Daemon::start();
    let listener = EventListener::start(&d);
    std::thread::sleep(Duration::from_millis(300));
    let xmls: Vec<String> = (0..OTHERS)
        .map(|i| d.domain_xml(&format!("other-{i}")))
        .collect();
    let (root, dir) = (d.root(), d.path().to_path_buf());
    let other = std::thread::spawn(move || other_process(root, dir, xmls));
    let out = python(&d, DEFINE, &[&MANY.to_string()]);
    assert!(out.contains("defined"), "{out}");
    other.join().expect("the embedded CLI failed");

    // The daemon saw the other process's definitions and starts as they happened.
    check_listing(&d, "before the restart");
    for i in 0..BOOTED {
        let started = format!("domain 'other-{i}': Started Booted");
        assert!(
            listener.wait_for(&started, Duration::from_secs(10)),
            "no '{started}' event: {}",
            tail(&listener.text(), 20)
        );
    }
    let events = listener.finish();
    let defined = events
        .iter()
        .filter(|e| e.ends_with("Defined Added"))
        .count();
    assert_eq!(defined, MANY + OTHERS, "Defined Added events");

    d.restart();
    check_listing(&d, "after the restart");
}
