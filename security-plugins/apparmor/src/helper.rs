//! Running `oxvirt-aa-helper` for a VM: libvirt's `load_profile` / `reload_profile` /
//! `remove_profile`, with oxvirt's layout passed as options (`--profile-dir`, the VM's
//! directories, its log) and the domain XML on stdin.

use crate::host::sec_err;
use oxvirt_core::domain::{format_domain_xml, FormatOptions};
use oxvirt_core::security::VmContext;
use oxvirt_core::Result;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One VM's profile, handled through the helper.
pub struct Helper<'a> {
    pub binary: &'a Path,
    pub profile_dir: &'a Path,
    pub profile: &'a str,
}

impl Helper<'_> {
    /// The profile file (`-D` is run only when it exists).
    pub fn profile_file(&self) -> PathBuf {
        self.profile_dir.join(self.profile)
    }

    /// `-c` (or `-r` over a profile left by an earlier start): the VM's rules from its
    /// XML, `vm_dirs` and `log`, loaded.
    pub fn load(&self, vm: &VmContext, vm_dirs: &[&Path], log: Option<&Path>) -> Result<()> {
        let mode = if self.profile_file().exists() {
            "-r"
        } else {
            "-c"
        };
        let mut args: Vec<String> = vec![mode.into()];
        for d in vm_dirs {
            args.push("--vm-dir".into());
            args.push(d.to_string_lossy().into_owned());
        }
        if let Some(l) = log {
            args.push("--log".into());
            args.push(l.to_string_lossy().into_owned());
        }
        self.run(&args, Some(vm))
    }

    /// `-r -F FILE`: one more file for a running VM (hotplug).
    pub fn append(&self, vm: &VmContext, file: &Path) -> Result<()> {
        let args = [
            "-r".into(),
            "-F".into(),
            file.to_string_lossy().into_owned(),
        ];
        self.run(&args, Some(vm))
    }

    /// `-D`: unload the profile and delete its files.
    pub fn delete(&self) -> Result<()> {
        if !self.profile_file().exists() {
            return Ok(());
        }
        self.run(&["-D".into()], None)
    }

    fn run(&self, args: &[String], vm: Option<&VmContext>) -> Result<()> {
        let mut child = Command::new(self.binary)
            .args(args)
            .args(["-u", self.profile, "--profile-dir"])
            .arg(self.profile_dir)
            .env_clear()
            .env("PATH", "/sbin:/usr/sbin:/usr/bin:/bin")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| sec_err(format!("cannot run {}: {e}", self.binary.display())))?;
        let xml = vm.map(|vm| format_domain_xml(vm.domain, FormatOptions { live: true }));
        if let (Some(mut stdin), Some(xml)) = (child.stdin.take(), xml) {
            // A helper that exits early (bad input) closes stdin: its stderr says why.
            let _ = stdin.write_all(xml.as_bytes());
        }
        let out = child
            .wait_with_output()
            .map_err(|e| sec_err(format!("{}: {e}", self.binary.display())))?;
        if out.status.success() {
            return Ok(());
        }
        Err(sec_err(format!(
            "the AppArmor profile {} could not be {}: {}",
            self.profile,
            if args[0] == "-D" { "removed" } else { "loaded" },
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}
