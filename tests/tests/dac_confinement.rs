//! End-to-end: the DAC backend and the cgroup device ACL with a real guest.
//!
//! QEMU runs as a dedicated unprivileged user this test creates (`oxvirt-qemu-test`,
//! with `useradd`; the test needs root and says so otherwise). It checks what an
//! administrator would check: `/proc/PID/status` of QEMU, the owner of the disk image
//! while running and after each way of stopping, the VM's cgroup and its `devices.list`,
//! and that no `trusted.libvirt.*` xattr is left behind.

use oxvirt_tests::harness::{self, built_binary};
use oxvirt_tests::{guest, GUEST_CMDLINE, GUEST_READY_MARKER};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const USER: &str = "oxvirt-qemu-test";
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);

fn bin(name: &str) -> PathBuf {
    built_binary(name)
}

/// The test user's uid and gid, created once.
fn qemu_user() -> (u32, u32) {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the DAC tests need root: they create a user and chown files"
    );
    if nix::unistd::User::from_name(USER).unwrap().is_none() {
        let out = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                USER,
            ])
            .output()
            .expect("useradd (package passwd)");
        // Another test may have created it meanwhile.
        assert!(
            out.status.success() || nix::unistd::User::from_name(USER).unwrap().is_some(),
            "useradd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let u = nix::unistd::User::from_name(USER).unwrap().unwrap();
    (u.uid.as_raw(), u.gid.as_raw())
}

struct Env {
    dir: tempfile::TempDir,
    owner: (u32, u32),
}

impl Env {
    /// A root searchable by the QEMU user, with the guest's kernel/initrd and a disk
    /// image owned by a third identity (uid 4321) so every restore is visible.
    fn new(config: &str) -> Env {
        qemu_user();
        let dir = tempfile::Builder::new()
            .prefix("oxd")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/qemu.toml"), config).unwrap();
        let g = guest();
        std::fs::copy(&g.kernel, dir.path().join("vmlinuz")).unwrap();
        std::fs::copy(&g.initrd, dir.path().join("initrd")).unwrap();
        let env = Env {
            dir,
            owner: (4321, 4321),
        };
        for f in ["vmlinuz", "initrd"] {
            nix::unistd::chown(&env.path(f), Some(0.into()), Some(0.into())).unwrap();
        }
        env.disk("disk.img");
        env
    }
    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }
    fn disk(&self, f: &str) {
        let p = self.path(f);
        let file = std::fs::File::create(&p).unwrap();
        file.set_len(16 << 20).unwrap();
        nix::unistd::chown(&p, Some(self.owner.0.into()), Some(self.owner.1.into())).unwrap();
    }
    fn uri(&self) -> String {
        format!("qemu:///embed?root={}", self.dir.path().display())
    }
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(bin("oxvirt"))
            .arg("-c")
            .arg(self.uri())
            .args(args)
            .output()
            .unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "oxvirt {args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
    fn define(&self, name: &str, disks: &str) {
        let xml = format!(
            "<domain type='qemu'><name>{name}</name><uuid>{uuid}</uuid><memory unit='MiB'>256</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{k}</kernel><initrd>{i}</initrd>
  <cmdline>{GUEST_CMDLINE}</cmdline></os><features><acpi/></features>
  <devices>{disks}<serial type='file'><source path='{d}/{name}.serial'/><target port='0'/></serial></devices>
</domain>",
            uuid = uuid_for(name),
            k = self.path("vmlinuz").display(),
            i = self.path("initrd").display(),
            d = self.dir.path().display()
        );
        let f = self.path(&format!("{name}.xml"));
        std::fs::write(&f, xml).unwrap();
        self.ok(&["define", f.to_str().unwrap()]);
    }
    fn status_attr(&self, name: &str, attr: &str) -> Option<u32> {
        let text = std::fs::read_to_string(self.path(&format!("run/qemu/{name}.xml"))).ok()?;
        let key = format!("{attr}='");
        let start = text.find(&key)? + key.len();
        let end = start + text[start..].find('\'')?;
        text[start..end].parse().ok()
    }
    fn wait_marker(&self, name: &str) {
        let p = self.path(&format!("{name}.serial"));
        let deadline = Instant::now() + BOOT_TIMEOUT;
        while Instant::now() < deadline {
            if std::fs::read_to_string(&p)
                .map(|t| t.contains(GUEST_READY_MARKER))
                .unwrap_or(false)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no guest marker in {}", p.display());
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Ok(rd) = std::fs::read_dir(self.path("run/qemu")) {
            for e in rd.flatten() {
                if let Some(n) = e.file_name().to_string_lossy().strip_suffix(".xml") {
                    let _ = self.run(&["destroy", n]);
                }
            }
        }
    }
}

/// A stable uuid per domain name, so a redefinition is the same domain.
fn uuid_for(name: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        h >> 32,
        h & 0xffff_ffff_ffff
    )
}

fn owner(p: &Path) -> (u32, u32) {
    let m = std::fs::metadata(p).unwrap();
    (m.uid(), m.gid())
}

fn trusted_xattrs(p: &Path) -> Vec<String> {
    xattr::list(p)
        .unwrap()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| n.starts_with("trusted."))
        .collect()
}

fn proc_status(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap()
}

fn field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
        .unwrap_or("")
}

fn wait_gone(pid: u32) -> bool {
    harness::wait_gone(pid, Duration::from_secs(10))
}

/// The cgroup under `devices/machine` whose `cgroup.procs` lists `pid`.
fn vm_cgroup_of(pid: u32) -> PathBuf {
    std::fs::read_dir("/sys/fs/cgroup/devices/machine")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            std::fs::read_to_string(p.join("cgroup.procs"))
                .map(|t| t.lines().any(|l| l.trim() == pid.to_string()))
                .unwrap_or(false)
        })
        .expect("QEMU's pid is in a cgroup under devices/machine")
}

fn config() -> String {
    format!("user = \"{USER}\"\ngroup = \"{USER}\"\n")
}

const DISK: &str = "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='DISK'/><target dev='vda' bus='virtio'/></disk>";

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
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    assert!(
        limits
            .lines()
            .any(|l| l.starts_with("Max open files") && l.contains(" 4321 ")),
        "{limits}"
    );
    assert!(
        limits
            .lines()
            .any(|l| l.starts_with("Max processes") && l.contains(" 2345 ")),
        "{limits}"
    );

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
    assert!(cg
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("oxvirt-qemu-"));
    let list = std::fs::read_to_string(cg.join("devices.list")).unwrap();
    let mut got: Vec<&str> = list.lines().collect();
    got.sort();
    let mut want = vec![
        "c 1:3 rw",
        "c 1:7 rw",
        "c 1:5 rw",
        "c 1:8 rw",
        "c 1:9 rw",
        "c 5:2 rw",
        "c 136:* rw",
    ];
    if Path::new("/dev/kvm").exists() {
        want.push("c 10:232 rw");
    }
    // A misc device with a dynamic minor: read it from the node.
    let uffd = std::fs::metadata("/dev/userfaultfd").ok().map(|m| {
        let rdev = m.rdev();
        format!(
            "c {}:{} rw",
            nix::sys::stat::major(rdev),
            nix::sys::stat::minor(rdev)
        )
    });
    if let Some(u) = &uffd {
        want.push(u);
    }
    want.sort();
    assert_eq!(got, want, "devices.list of {}", cg.display());

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
fn boot_dac_restores_after_guest_poweroff_and_after_qemu_is_killed() {
    // Default stack on a host without SELinux/AppArmor: none (primary) + dac.
    let env = Env::new(&config());
    let (uid, _) = qemu_user();
    let disk = env.path("disk.img");
    env.define("off", &DISK.replace("DISK", disk.to_str().unwrap()));

    // The guest powers itself off.
    std::fs::write(
        env.path("off.xml"),
        std::fs::read_to_string(env.path("off.xml"))
            .unwrap()
            .replace(GUEST_CMDLINE, "console=ttyS0 quiet oxvirt.poweroff"),
    )
    .unwrap();
    env.ok(&["define", env.path("off.xml").to_str().unwrap()]);
    env.ok(&["start", "off"]);
    let deadline = Instant::now() + BOOT_TIMEOUT;
    while env.path("run/qemu/off.xml").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        env.ok(&["domstate", "--reason", "off"]).trim(),
        "shut off (shutdown)"
    );
    let info = env.ok(&["dominfo", "off"]);
    assert!(
        info.contains("Security model: none\nSecurity DOI:   0\n"),
        "{info}"
    );
    assert_eq!(owner(&disk), env.owner);
    assert!(trusted_xattrs(&disk).is_empty());

    // QEMU is SIGKILLed: the supervisor sees it die and restores.
    std::fs::write(
        env.path("off.xml"),
        std::fs::read_to_string(env.path("off.xml"))
            .unwrap()
            .replace(" oxvirt.poweroff", ""),
    )
    .unwrap();
    env.ok(&["define", env.path("off.xml").to_str().unwrap()]);
    env.ok(&["start", "off"]);
    assert_eq!(owner(&disk).0, uid);
    let pid = env.status_attr("off", "pid").unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    assert!(wait_gone(pid));
    let deadline = Instant::now() + Duration::from_secs(10);
    while env.path("run/qemu/off.xml").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        env.ok(&["domstate", "--reason", "off"]).trim(),
        "shut off (crashed)"
    );
    assert_eq!(owner(&disk), env.owner);
    assert!(trusted_xattrs(&disk).is_empty());
}

#[test]
fn boot_dac_recovers_when_everything_is_killed() {
    let env = Env::new(&config());
    let (uid, _) = qemu_user();
    let disk = env.path("disk.img");
    env.define("crash", &DISK.replace("DISK", disk.to_str().unwrap()));
    env.ok(&["start", "crash"]);
    let pid = env.status_attr("crash", "pid").unwrap();
    let sup = env.status_attr("crash", "supervisor").unwrap();
    assert_eq!(owner(&disk).0, uid);
    let cg = vm_cgroup_of(pid);
    // The supervisor dies first (nobody restores), then QEMU.
    for p in [sup, pid] {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p as i32),
            nix::sys::signal::SIGKILL,
        )
        .unwrap();
        assert!(wait_gone(p));
    }
    assert_eq!(
        owner(&disk).0,
        uid,
        "nothing restored yet: nobody was left to do it"
    );
    // The next process to open the root cleans up.
    assert_eq!(
        env.ok(&["domstate", "--reason", "crash"]).trim(),
        "shut off (unknown)"
    );
    assert_eq!(owner(&disk), env.owner);
    assert!(trusted_xattrs(&disk).is_empty());
    assert!(!env.path("run/qemu/crash.journal").exists());
    assert!(
        !cg.exists(),
        "cgroup {} removed by the recovery",
        cg.display()
    );
}

#[test]
fn boot_dac_recovers_when_the_managing_process_and_supervisor_die_mid_start() {
    let env = Env::new(&config());
    let (uid, _) = qemu_user();
    let disk = env.path("disk.img");
    env.define("mid", &DISK.replace("DISK", disk.to_str().unwrap()));
    // Hold the start after labelling (test seam), then kill the CLI and the supervisor.
    let mut cli = Command::new(bin("oxvirt"))
        .arg("-c")
        .arg(env.uri())
        .args(["start", "mid"])
        .env("OXVIRT_TEST_PAUSE_AT", "labelled")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let journal = env.path("run/qemu/mid.journal");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(journal.exists() && owner(&disk).0 == uid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        owner(&disk).0,
        uid,
        "the stalled start has relabelled the disk"
    );
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&journal).unwrap()).unwrap();
    let sup = j["supervisor_pid"].as_u64().unwrap() as u32;
    let cg = PathBuf::from(j["cgroup"].as_str().unwrap());
    // The cgroup is created just after the relabelling the loop above saw.
    while !cg.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(cg.exists(), "{}", cg.display());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(cli.id() as i32),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    let _ = cli.wait();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sup as i32),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    assert!(wait_gone(sup));
    // Re-open the root: the journal is replayed.
    assert_eq!(
        env.ok(&["domstate", "--reason", "mid"]).trim(),
        "shut off (unknown)"
    );
    assert_eq!(owner(&disk), env.owner);
    assert!(trusted_xattrs(&disk).is_empty());
    assert!(!journal.exists());
    assert!(!cg.exists(), "cgroup {} removed", cg.display());
    // And the domain starts normally afterwards.
    env.ok(&["start", "mid"]);
    env.ok(&["destroy", "mid"]);
    assert_eq!(owner(&disk), env.owner);
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
