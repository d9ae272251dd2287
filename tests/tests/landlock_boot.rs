//! End-to-end: the Landlock backend with the real test guest. A rootless
//! `qemu:///embed` (every command as `nobody`, the root owned by `nobody`) boots the
//! guest confined by Landlock; QEMU's own monitor is the probe of what the process can
//! open (`blockdev-add` of a `file` node): its own disk yes, `/etc/passwd` (which
//! `nobody` may read) and another VM's disk (same uid!) no. Stacked after DAC as root,
//! the same holds with QEMU running as the DAC user.

use oxvirt_tests::confined::{status_field, Root};
use std::path::Path;

fn assert_confined(r: &Root, name: &str, other_disk: &Path) {
    let pid = r.status_attr(name, "pid").expect("running");
    assert_eq!(status_field(pid, "CapEff:"), "0000000000000000");
    assert_eq!(status_field(pid, "NoNewPrivs:"), "1");
    assert_eq!(status_field(pid, "Seccomp:"), "2", "QEMU's -sandbox is on");
    // The level reached is in the live XML (and in dominfo when Landlock is primary).
    let live = r.ok(&["dumpxml", name]);
    assert!(
        live.contains("model='landlock'") && live.contains("<label>abi="),
        "{live}"
    );
    let own = r.file(&format!("{name}.img"));
    assert_eq!(r.qemu_opens(name, &own, "own"), Ok(()));
    for path in [Path::new("/etc/passwd"), other_disk] {
        let e = r.qemu_opens(name, path, "escape").unwrap_err();
        assert!(e.contains("Permission denied"), "{}: {e}", path.display());
    }
}

#[test]
fn boot_rootless_embed_under_landlock() {
    let r = Root::new("security_driver = \"landlock\"\n", true);
    r.define("ll");
    let other = r.disk("other");
    r.ok(&["start", "ll"]);
    r.wait_marker("ll");
    let pid = r.status_attr("ll", "pid").unwrap();
    assert_eq!(
        status_field(pid, "Uid:").split_whitespace().next(),
        Some("65534")
    );
    assert_confined(&r, "ll", &other);
    let info = r.ok(&["dominfo", "ll"]);
    assert!(info.contains("Security label: abi="), "{info}");
    r.ok(&["destroy", "ll"]);
}

#[test]
fn boot_landlock_stacked_after_dac() {
    let r = Root::new(
        "user = \"nobody\"\ngroup = \"nogroup\"\nsecurity_driver = [\"dac\", \"landlock\"]\n",
        false,
    );
    r.define("stk");
    let other = r.disk("other");
    r.ok(&["start", "stk"]);
    r.wait_marker("stk");
    let pid = r.status_attr("stk", "pid").unwrap();
    assert_eq!(
        status_field(pid, "Uid:").split_whitespace().next(),
        Some("65534")
    );
    // The other disk is world-readable here: only Landlock keeps QEMU out of it.
    assert_confined(&r, "stk", &other);
    r.ok(&["destroy", "stk"]);
}
