//! End-to-end: `oxvirt confinement DOMAIN` before and while the VM runs, checked against
//! what the running QEMU really is and can do — the report before the start names the
//! id, directories and ruleset the start then uses; the running report's `/proc` facts
//! are QEMU's; a path it grants is one QEMU's own monitor can open, a path it leaves
//! out is one QEMU cannot; owners are the host's (DAC's chown while running, restored
//! after). Table, `--xml` (checked well-formed by xmllint) and `--json`.
//!
//! Needs root (the rootless case runs every command as `nobody`).

use oxvirt_tests::confined::{status_field, Root};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

fn report(r: &Root, name: &str) -> Value {
    serde_json::from_str(&r.ok(&["confinement", "--json", name])).expect("JSON report")
}

/// The report's entry for `path`.
fn path_entry<'a>(rep: &'a Value, path: &Path) -> Option<&'a Value> {
    rep["paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"].as_str() == path.to_str())
}

fn access(rep: &Value, path: &Path) -> String {
    path_entry(rep, path)
        .map(|p| p["access"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

fn owner(rep: &Value, path: &Path) -> String {
    path_entry(rep, path)
        .and_then(|p| p["owner"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn xml_well_formed(xml: &str) {
    let mut c = Command::new("xmllint")
        .args(["--noout", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("xmllint");
    use std::io::Write;
    c.stdin.take().unwrap().write_all(xml.as_bytes()).unwrap();
    assert!(c.wait().unwrap().success(), "not well-formed:\n{xml}");
}

#[test]
fn report_of_a_rootless_landlock_vm_matches_what_qemu_is_and_can_open() {
    let r = Root::new("security_driver = \"landlock\"\n", true);
    let disk = r.define("rep");
    let before = report(&r, "rep");
    assert_eq!(before["running"], false);
    assert_eq!(
        before["landlock_abi"].as_u64(),
        Some(oxvirt_driver_qemu::launch::landlock_abi().into())
    );
    assert!(access(&before, &disk).contains("rw"), "{before:#}");
    assert!(access(&before, before["emulator"].as_str().unwrap().as_ref()).contains('x'));
    assert!(path_entry(&before, Path::new("/etc/shadow")).is_none());
    assert!(path_entry(&before, Path::new("/etc/passwd")).is_none());

    r.ok(&["start", "rep"]);
    let id = r.status_attr("rep", "id").unwrap();
    let pid = r.status_attr("rep", "pid").unwrap();
    // The report before the start predicted it: its id, its directories, its ruleset.
    assert_eq!(before["id"].as_u64(), Some(id.into()));
    let own_dir = r.file(&format!("run/qemu/domain-{id}-rep"));
    assert!(own_dir.is_dir() && access(&before, &own_dir).contains("rwc"));
    let now = report(&r, "rep");
    assert_eq!(
        now["confinement"]["landlock"], before["confinement"]["landlock"],
        "the ruleset applied is the one reported before the start"
    );
    assert_eq!(now["running"], true);
    assert_eq!(now["pid"].as_u64(), Some(pid.into()));
    let p = &now["process"];
    let uid_line: Vec<String> = status_field(pid, "Uid:")
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(p["uid"].as_str().unwrap(), uid_line.join(" "));
    assert_eq!(p["cap_eff"], "0000000000000000");
    assert_eq!(p["no_new_privs"], "1");
    assert_eq!(p["seccomp"], "2");
    assert!(now["confinement"]["seccomp"]["sandbox"]
        .as_str()
        .unwrap()
        .starts_with("on,"));
    // What the report grants QEMU opens; what it leaves out QEMU cannot, though
    // `nobody` may read /etc/passwd and owns the other disk.
    assert_eq!(r.qemu_opens("rep", &disk, "own"), Ok(()));
    let other = r.disk("other");
    assert!(path_entry(&now, &other).is_none());
    for path in [Path::new("/etc/passwd"), other.as_path()] {
        let e = r.qemu_opens("rep", path, "x").unwrap_err();
        assert!(e.contains("Permission denied"), "{}: {e}", path.display());
    }

    let table = r.ok(&["confinement", "rep"]);
    assert!(table.contains("Process (/proc): Uid 65534"), "{table}");
    assert!(
        table.contains("Every other path: denied by Landlock."),
        "{table}"
    );
    let disk_line = table.lines().find(|l| l.contains(disk.to_str().unwrap()));
    assert!(
        disk_line.is_some_and(|l| l.contains("rwt") && l.contains("disk")),
        "{table}"
    );
    let xml = r.ok(&["confinement", "--xml", "rep"]);
    xml_well_formed(&xml);
    assert!(
        xml.contains(&format!("<path name='{}' access='rwt'", disk.display())),
        "{xml}"
    );
    assert!(
        xml.contains("<process uid='65534 65534 65534 65534'"),
        "{xml}"
    );
    r.ok(&["destroy", "rep"]);
}

#[test]
fn report_of_a_dac_cgroup_vm_shows_identity_acl_and_owners() {
    let r = Root::new("user = \"nobody\"\ngroup = \"nogroup\"\n", false);
    let disk = r.define("dc");
    let before = report(&r, "dc");
    let ident = &before["confinement"]["identity"];
    assert_eq!(
        (ident["uid"].as_u64(), ident["gid"].as_u64()),
        (Some(65534), Some(65534))
    );
    assert!(before["confinement"]["landlock"].is_null());
    let devices = before["confinement"]["cgroup"]["devices"].to_string();
    assert!(
        devices.contains("c 1:3 rw"),
        "/dev/null in the ACL: {devices}"
    );
    assert_eq!(owner(&before, &disk), "0:0 0644");

    r.ok(&["start", "dc"]);
    let pid = r.status_attr("dc", "pid").unwrap();
    let now = report(&r, "dc");
    // DAC gave the disk to QEMU's user; the cgroup of the report is QEMU's.
    assert_eq!(owner(&now, &disk), "65534:65534 0644");
    let cg = now["confinement"]["cgroup"]["path"].as_str().unwrap();
    let procs = std::fs::read_to_string(Path::new(cg).join("cgroup.procs")).unwrap();
    assert!(procs.lines().any(|l| l == pid.to_string()), "{cg}: {procs}");
    assert_eq!(now["process"]["uid"], "65534 65534 65534 65534");
    assert_eq!(now["process"]["cap_eff"], "0000000000000000");
    let table = r.ok(&["confinement", "dc"]);
    assert!(
        table.contains("Identity:        uid 65534, gid 65534"),
        "{table}"
    );
    assert!(
        table.contains("Every other path: as file ownership"),
        "{table}"
    );
    xml_well_formed(&r.ok(&["confinement", "--xml", "dc"]));

    r.ok(&["destroy", "dc"]);
    assert_eq!(
        owner(&report(&r, "dc"), &disk),
        "0:0 0644",
        "owner restored"
    );
    let o = r.run(&["confinement", "nosuch"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("nosuch"));
}
