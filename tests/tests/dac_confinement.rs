//! End-to-end: the DAC backend and the cgroup device ACL with a real guest. QEMU runs
//! as a dedicated unprivileged user (see `dac_common`); the tests check what an
//! administrator would check: `/proc/PID/status` of QEMU, the owner of the disk image
//! while running and after destroy, the VM's cgroup and its `devices.list`, static and
//! per-disk labels, and that no `trusted.libvirt.*` xattr is left behind. The recovery
//! after crashes is `dac_recovery.rs`.

mod dac_common;

use dac_common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

#[test]
fn boot_dac_runs_qemu_unprivileged_and_restores_owners_after_destroy() {
    // DAC as the primary (and only) backend, so dominfo shows its model and label; and
    // the process limits of qemu.toml.
    let env = Env::new(&format!(
        "{}security_driver = \"dac\"\nmax_files = 4321\nmax_processes = 2345\n",
        config()
    ));
    let (uid, gid) = qemu_user();
    let disk = env.path("disk.img");
    env.define("dac", &DISK.replace("DISK", disk.to_str().unwrap()));
    env.ok(&["start", "dac"]);
    env.wait_marker("dac");
    let pid = env.status_attr("dac", "pid").unwrap();

    assert_runs_as(pid, uid, gid);
    assert_limits(pid, 4321, 2345);

    assert_eq!(
        owner(&disk),
        (uid, gid),
        "disk owned by the QEMU user while running"
    );
    assert!(
        !trusted_xattrs(&disk).is_empty(),
        "the original owner is remembered"
    );

    // The cgroup: exactly the ACL plus no block disks (this disk is a file), QEMU in it.
    let cg = vm_cgroup_of(pid);
    assert_default_acl(&cg);

    let info = env.ok(&["dominfo", "dac"]);
    assert!(info.contains("Security model: dac\n"), "{info}");
    assert!(
        info.contains(&format!("Security label: +{uid}:+{gid} (enforcing)")),
        "{info}"
    );
    let live = env.ok(&["dumpxml", "dac"]);
    assert!(
        live.contains("<seclabel type='dynamic' model='dac' relabel='yes'>"),
        "{live}"
    );

    env.ok(&["destroy", "dac"]);
    assert!(wait_gone(pid));
    let info = env.ok(&["dominfo", "dac"]);
    assert!(
        !info.contains("Security label:"),
        "no label when inactive: {info}"
    );
    assert_eq!(owner(&disk), env.owner, "original owner back after destroy");
    assert!(
        trusted_xattrs(&disk).is_empty(),
        "{:?}",
        trusted_xattrs(&disk)
    );
    assert_eq!(owner(&env.path("vmlinuz")), (0, 0));
    assert!(!cg.exists(), "cgroup {} removed", cg.display());
    assert!(!env.path("run/qemu/dac.journal").exists());
}

#[test]
fn boot_dac_static_label_and_per_disk_relabel_no() {
    let env = Env::new(&config());
    let (uid, _) = qemu_user();
    // A second disk the VM must not relabel: the administrator made it usable by the
    // QEMU user (owner) but with another group, which a relabel would change.
    env.disk("keep.img");
    let keep = env.path("keep.img");
    nix::unistd::chown(&keep, Some(uid.into()), Some(4321.into())).unwrap();
    let disk = env.path("disk.img");
    let disks = format!(
        "{}<disk type='file' device='disk'><source file='{}'><seclabel model='dac' relabel='no'/></source><target dev='vdb' bus='virtio'/></disk>",
        DISK.replace("DISK", disk.to_str().unwrap()),
        keep.display()
    );
    env.define("perdisk", &disks);
    env.ok(&["start", "perdisk"]);
    assert_eq!(owner(&disk).0, uid);
    assert_eq!(
        owner(&keep),
        (uid, 4321),
        "relabel='no' leaves the disk alone"
    );
    assert!(trusted_xattrs(&keep).is_empty());
    env.ok(&["destroy", "perdisk"]);
    assert_eq!(owner(&disk), env.owner);

    // A static DAC label: QEMU runs as that identity and nothing is relabelled.
    let serial = env.path("static.serial");
    std::fs::write(&serial, b"").unwrap();
    nix::unistd::chown(&serial, Some(4321.into()), Some(4321.into())).unwrap();
    env.define("static", &DISK.replace("DISK", disk.to_str().unwrap()));
    let xml = std::fs::read_to_string(env.path("static.xml")).unwrap().replace(
        "</devices>",
        "</devices><seclabel type='static' model='dac' relabel='no'><label>+4321:+4321</label></seclabel>",
    );
    std::fs::write(env.path("static.xml"), xml).unwrap();
    env.ok(&["define", env.path("static.xml").to_str().unwrap()]);
    env.ok(&["start", "static"]);
    env.wait_marker("static");
    let pid = env.status_attr("static", "pid").unwrap();
    let st = proc_status(pid);
    assert_eq!(
        field(&st, "Uid:").split_whitespace().next(),
        Some("4321"),
        "{st}"
    );
    assert_eq!(
        owner(&disk),
        env.owner,
        "static label with relabel='no': no chown"
    );
    assert_eq!(owner(&env.path("vmlinuz")), (0, 0));
    env.ok(&["destroy", "static"]);
    assert_eq!(owner(&disk), env.owner);
}

#[test]
fn boot_dac_two_vms_share_a_readonly_image() {
    let env = Env::new(&config());
    let (uid, _) = qemu_user();
    let shared = env.path("shared.img");
    env.disk("shared.img");
    let ro = format!(
        "<disk type='file' device='disk'><source file='{}'/><target dev='vda' bus='virtio'/><readonly/></disk>",
        shared.display()
    );
    env.define("ro1", &ro);
    env.define("ro2", &ro);
    env.ok(&["start", "ro1"]);
    env.ok(&["start", "ro2"]);
    env.wait_marker("ro1");
    env.wait_marker("ro2");
    assert_eq!(owner(&shared).0, uid);
    env.ok(&["destroy", "ro1"]);
    env.ok(&["destroy", "ro2"]);
    // libvirt never gives read-only images back (other VMs may use them) and never
    // remembers their owner: no xattr either way.
    assert!(trusted_xattrs(&shared).is_empty());
    assert_eq!(
        env.ok(&["domstate", "--reason", "ro2"]).trim(),
        "shut off (destroyed)"
    );
}

#[test]
fn dac_refuses_a_directory_the_qemu_user_cannot_search() {
    let env = Env::new(&config());
    let private = env.path("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let disk = private.join("disk.img");
    std::fs::write(&disk, b"").unwrap();
    nix::unistd::chown(&disk, Some(4321.into()), Some(4321.into())).unwrap();
    env.define("nosearch", &DISK.replace("DISK", disk.to_str().unwrap()));
    let o = env.run(&["start", "nosearch"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("chmod o+x {}", private.display())),
        "{err}"
    );
    // Nothing changed, nothing left.
    assert_eq!(owner(&disk), (4321, 4321));
    assert!(trusted_xattrs(&disk).is_empty());
    assert_eq!(owner(&env.path("vmlinuz")), (0, 0));
    assert!(trusted_xattrs(&env.path("vmlinuz")).is_empty());
    assert!(!env.path("run/qemu/nosearch.journal").exists());
    assert!(!env.path("run/qemu/nosearch.xml").exists());
}

/// QEMU runs as (uid, gid) with no capability left.
fn assert_runs_as(pid: u32, uid: u32, gid: u32) {
    let st = proc_status(pid);
    assert_eq!(
        field(&st, "Uid:").split_whitespace().next(),
        Some(uid.to_string().as_str()),
        "{st}"
    );
    assert_eq!(
        field(&st, "Gid:").split_whitespace().next(),
        Some(gid.to_string().as_str()),
        "{st}"
    );
    assert_eq!(field(&st, "CapEff:"), "0000000000000000");
    assert_eq!(field(&st, "CapPrm:"), "0000000000000000");
    assert_eq!(field(&st, "CapBnd:"), "0000000000000000");
}

/// `/proc/PID/limits` shows qemu.toml's `max_files` and `max_processes`.
fn assert_limits(pid: u32, files: u64, processes: u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let has = |name: &str, v: u64| {
        limits
            .lines()
            .any(|l| l.starts_with(name) && l.contains(&format!(" {v} ")))
    };
    assert!(has("Max open files", files), "{limits}");
    assert!(has("Max processes", processes), "{limits}");
}

/// The cgroup `cg` is one of ours and allows exactly the default ACL and the PTYs.
fn assert_default_acl(cg: &Path) {
    assert!(cg
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("oxvirt-qemu-"));
    let list = std::fs::read_to_string(cg.join("devices.list")).unwrap();
    let mut got: Vec<&str> = list.lines().collect();
    got.sort();
    let mut want: Vec<String> = [
        "c 1:3 rw",
        "c 1:7 rw",
        "c 1:5 rw",
        "c 1:8 rw",
        "c 1:9 rw",
        "c 5:2 rw",
        "c 136:* rw",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if Path::new("/dev/kvm").exists() {
        want.push("c 10:232 rw".into());
    }
    // A misc device with a dynamic minor: read it from the node.
    if let Ok(m) = std::fs::metadata("/dev/userfaultfd") {
        let rdev = m.rdev();
        want.push(format!(
            "c {}:{} rw",
            nix::sys::stat::major(rdev),
            nix::sys::stat::minor(rdev)
        ));
    }
    want.sort();
    assert_eq!(got, want, "devices.list of {}", cg.display());
}
