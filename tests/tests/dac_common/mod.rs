//! Shared by the end-to-end tests that run QEMU under DAC as a real unprivileged user
//! (`oxvirt-qemu-test`, created with `useradd`; they need root and say so otherwise): a
//! root searchable by that user with the guest's kernel/initrd and a disk owned by a
//! third identity (uid 4321) so every restore is visible, and the checks an
//! administrator would make (owners, `trusted.*` xattrs, `/proc/PID/status`, the VM's
//! cgroup).

#![allow(dead_code)]

use oxvirt_tests::harness::{self, built_binary};
use oxvirt_tests::{guest, GUEST_CMDLINE, GUEST_READY_MARKER};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const USER: &str = "oxvirt-qemu-test";
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(60);

pub fn bin(name: &str) -> PathBuf {
    built_binary(name)
}

/// The test user's uid and gid, created once.
pub fn qemu_user() -> (u32, u32) {
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

pub struct Env {
    pub dir: tempfile::TempDir,
    pub owner: (u32, u32),
}

impl Env {
    /// A root searchable by the QEMU user, with the guest's kernel/initrd and a disk
    /// image owned by a third identity (uid 4321) so every restore is visible.
    pub fn new(config: &str) -> Env {
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
    pub fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }
    pub fn disk(&self, f: &str) {
        let p = self.path(f);
        let file = std::fs::File::create(&p).unwrap();
        file.set_len(16 << 20).unwrap();
        nix::unistd::chown(&p, Some(self.owner.0.into()), Some(self.owner.1.into())).unwrap();
    }
    pub fn uri(&self) -> String {
        format!("qemu:///embed?root={}", self.dir.path().display())
    }
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(bin("oxvirt"))
            .arg("-c")
            .arg(self.uri())
            .args(args)
            .output()
            .unwrap()
    }
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "oxvirt {args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
    pub fn define(&self, name: &str, disks: &str) {
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
    pub fn status_attr(&self, name: &str, attr: &str) -> Option<u32> {
        let text = std::fs::read_to_string(self.path(&format!("run/qemu/{name}.xml"))).ok()?;
        let key = format!(" {attr}='");
        let start = text.find(&key)? + key.len();
        let end = start + text[start..].find('\'')?;
        text[start..end].parse().ok()
    }
    pub fn wait_marker(&self, name: &str) {
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
pub fn uuid_for(name: &str) -> String {
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

pub fn owner(p: &Path) -> (u32, u32) {
    let m = std::fs::metadata(p).unwrap();
    (m.uid(), m.gid())
}

pub fn trusted_xattrs(p: &Path) -> Vec<String> {
    xattr::list(p)
        .unwrap()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| n.starts_with("trusted."))
        .collect()
}

pub fn proc_status(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap()
}

pub fn field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
        .unwrap_or("")
}

pub fn wait_gone(pid: u32) -> bool {
    harness::wait_gone(pid, Duration::from_secs(10))
}

/// The cgroup under `devices/machine` whose `cgroup.procs` lists `pid`.
pub fn vm_cgroup_of(pid: u32) -> PathBuf {
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

pub fn config() -> String {
    format!("user = \"{USER}\"\ngroup = \"{USER}\"\n")
}

pub const DISK: &str = "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='DISK'/><target dev='vda' bus='virtio'/></disk>";
