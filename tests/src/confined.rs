//! An embedded root for the confinement tests: a temp directory with the guest's kernel
//! and initrd and one disk per VM, driven through the `oxvirt` CLI either as root or
//! rootless — as `nobody` through `setpriv`, with the whole root owned by `nobody`, so
//! that no step of the driver has any privilege.

use crate::harness::built_binary;
use crate::{guest, GUEST_CMDLINE, GUEST_READY_MARKER};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// `nobody`'s uid and gid.
pub const NOBODY: (u32, u32) = (65534, 65534);

/// A root; `rootless` runs every command as `nobody`.
pub struct Root {
    dir: tempfile::TempDir,
    pub rootless: bool,
}

impl Root {
    /// A root whose `etc/qemu.toml` is `config`.
    pub fn new(config: &str, rootless: bool) -> Root {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the confinement tests need root: they run QEMU as other users"
        );
        let dir = tempfile::Builder::new()
            .prefix("oxc")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/qemu.toml"), config).unwrap();
        let g = guest();
        std::fs::copy(&g.kernel, dir.path().join("vmlinuz")).unwrap();
        std::fs::copy(&g.initrd, dir.path().join("initrd")).unwrap();
        let r = Root { dir, rootless };
        if rootless {
            r.chown_all(NOBODY);
        }
        r
    }

    fn chown_all(&self, (uid, gid): (u32, u32)) {
        let out = Command::new("chown")
            .arg("-R")
            .arg(format!("{uid}:{gid}"))
            .arg(self.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, f: &str) -> PathBuf {
        self.path().join(f)
    }

    pub fn uri(&self) -> String {
        format!("qemu:///embed?root={}", self.path().display())
    }

    /// `program ARGS` as root or as `nobody`.
    pub fn command(&self, program: &Path) -> Command {
        if self.rootless {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
            ])
            .arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(&built_binary("oxvirt"))
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

    /// A 16 MiB raw disk `NAME.img` (owned by `nobody` in a rootless root).
    pub fn disk(&self, name: &str) -> PathBuf {
        let p = self.file(&format!("{name}.img"));
        std::fs::File::create(&p)
            .unwrap()
            .set_len(16 << 20)
            .unwrap();
        if self.rootless {
            nix::unistd::chown(&p, Some(NOBODY.0.into()), Some(NOBODY.1.into())).unwrap();
        }
        p
    }

    /// Define VM `name` with its own disk and a file serial console; its disk.
    pub fn define(&self, name: &str) -> PathBuf {
        let disk = self.disk(name);
        let xml = format!(
            "<domain type='qemu'><name>{name}</name><memory unit='MiB'>256</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{k}</kernel><initrd>{i}</initrd>
  <cmdline>{GUEST_CMDLINE}</cmdline></os><features><acpi/></features>
  <devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{d}'/><target dev='vda' bus='virtio'/></disk>
  <serial type='file'><source path='{r}/{name}.serial'/><target port='0'/></serial></devices>
</domain>",
            k = self.file("vmlinuz").display(),
            i = self.file("initrd").display(),
            d = disk.display(),
            r = self.path().display()
        );
        let f = self.file(&format!("{name}.xml"));
        std::fs::write(&f, xml).unwrap();
        if self.rootless {
            nix::unistd::chown(&f, Some(NOBODY.0.into()), Some(NOBODY.1.into())).unwrap();
        }
        self.ok(&["define", f.to_str().unwrap()]);
        disk
    }

    /// An attribute of the live status file (`pid`, `id`).
    pub fn status_attr(&self, name: &str, attr: &str) -> Option<u32> {
        let text = std::fs::read_to_string(self.file(&format!("run/qemu/{name}.xml"))).ok()?;
        let key = format!(" {attr}='");
        let start = text.find(&key)? + key.len();
        let end = start + text[start..].find('\'')?;
        text[start..end].parse().ok()
    }

    /// Wait for the guest's marker on VM `name`'s console.
    pub fn wait_marker(&self, name: &str) {
        let p = self.file(&format!("{name}.serial"));
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if std::fs::read_to_string(&p).is_ok_and(|t| t.contains(GUEST_READY_MARKER)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no guest marker in {}", p.display());
    }

    /// `blockdev-add` of a read-only `file` node on `path` through VM `name`'s own QEMU:
    /// `Ok` when QEMU could open it, else QEMU's error.
    pub fn qemu_opens(&self, name: &str, path: &Path, node: &str) -> Result<(), String> {
        let cmd = format!(
            r#"{{"execute":"blockdev-add","arguments":{{"driver":"file","node-name":"{node}","filename":"{}","read-only":true}}}}"#,
            path.display()
        );
        let out = self.ok(&["qemu-monitor-command", name, &cmd]);
        if out.contains("\"return\"") {
            let del =
                format!(r#"{{"execute":"blockdev-del","arguments":{{"node-name":"{node}"}}}}"#);
            self.ok(&["qemu-monitor-command", name, &del]);
            Ok(())
        } else {
            Err(out.trim().to_string())
        }
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let Ok(rd) = std::fs::read_dir(self.file("run/qemu")) else {
            return;
        };
        for e in rd.flatten() {
            let f = e.file_name().to_string_lossy().into_owned();
            if let Some(name) = f.strip_suffix(".xml") {
                let _ = self.run(&["destroy", name]);
            }
        }
    }
}

/// The `NAME:` line of `/proc/PID/status`, its value trimmed.
pub fn status_field(pid: u32, name: &str) -> String {
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    st.lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}
