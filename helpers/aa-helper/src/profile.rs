//! The profile directory and the kernel: libvirt's file layout and `apparmor_parser`.
//!
//! `DIR/TEMPLATE.qemu` and `DIR/abstractions/oxvirt-qemu` are copied from the ones
//! shipped in this crate the first time they are needed and never overwritten (the
//! admin's to edit); `DIR/libvirt-UUID` is made once from the template (name set, the
//! VM's `.files` and `local/libvirt-UUID` included) and never rewritten;
//! `DIR/libvirt-UUID.files` holds the generated rules. Profiles are loaded with
//! `apparmor_parser -r -K` (compiled only with `-Q` when asked) and unloaded through
//! the kernel's `.remove` file.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shipped template and abstraction; `@PROFILE_DIR@` is the directory they go to.
pub const TEMPLATE: &str = include_str!("../apparmor/TEMPLATE.qemu");
pub const ABSTRACTION: &str = include_str!("../apparmor/oxvirt-qemu");
const DIR_MARK: &str = "@PROFILE_DIR@";
const TEMPLATE_NAME: &str = "profile LIBVIRT_TEMPLATE";
const PARSERS: &[&str] = &["/sbin/apparmor_parser", "/usr/sbin/apparmor_parser"];
const REMOVE: &str = "/sys/kernel/security/apparmor/.remove";
/// What the kernel answers when asked to remove a profile it does not have.
const ENOENT: i32 = 2;

/// The files of one VM's profile.
#[derive(Debug, Clone)]
pub struct ProfileFiles {
    pub dir: PathBuf,
    pub name: String,
}

impl ProfileFiles {
    pub fn profile(&self) -> PathBuf {
        self.dir.join(&self.name)
    }
    pub fn files(&self) -> PathBuf {
        self.dir.join(format!("{}.files", self.name))
    }
    pub fn local(&self) -> PathBuf {
        self.dir.join("local").join(&self.name)
    }
    fn template(&self) -> PathBuf {
        self.dir.join("TEMPLATE.qemu")
    }
    fn abstraction(&self) -> PathBuf {
        self.dir.join("abstractions/oxvirt-qemu")
    }

    /// The template's text: the directory's, else the shipped one.
    pub fn template_text(&self) -> Result<String, String> {
        match fs::read_to_string(self.template()) {
            Ok(t) => Ok(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(self.shipped(TEMPLATE)),
            Err(e) => Err(format!("cannot read {}: {e}", self.template().display())),
        }
    }

    fn shipped(&self, text: &str) -> String {
        text.replace(DIR_MARK, &self.dir.to_string_lossy())
    }

    /// The profile made from `template`: named, with the VM's includes, complain mode
    /// added when asked.
    pub fn profile_text(&self, template: &str, complain: bool) -> Result<String, String> {
        let Some(at) = template.find(TEMPLATE_NAME) else {
            return Err(format!(
                "{}: no line 'profile LIBVIRT_TEMPLATE' to name the profile; restore the \
                 shipped template",
                self.template().display()
            ));
        };
        let mut text = String::new();
        text.push_str(&template[..at]);
        let rest = &template[at + TEMPLATE_NAME.len()..];
        let (head, body) = rest
            .split_once('{')
            .ok_or_else(|| format!("{}: the profile has no body", self.template().display()))?;
        let head = if complain {
            with_complain(head)
        } else {
            head.to_string()
        };
        text.push_str(&format!("profile {}{head}{{", self.name));
        let close = body
            .rfind('}')
            .ok_or_else(|| format!("{}: the profile is not closed", self.template().display()))?;
        text.push_str(&body[..close]);
        text.push_str(&format!(
            "  #include \"{}\"\n  include if exists \"{}\"\n}}\n",
            self.files().display(),
            self.local().display()
        ));
        Ok(text)
    }

    pub fn exists(&self) -> bool {
        fs::metadata(self.profile()).is_ok_and(|m| m.len() > 0)
    }

    /// The directory with the template, the abstraction and `local/` (created 0755,
    /// files 0644, as libvirt's).
    pub fn seed(&self) -> Result<(), String> {
        for d in [
            self.dir.clone(),
            self.dir.join("abstractions"),
            self.dir.join("local"),
        ] {
            fs::create_dir_all(&d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        }
        for (path, text) in [
            (self.template(), TEMPLATE),
            (self.abstraction(), ABSTRACTION),
        ] {
            if !path.exists() {
                write_new(&path, &self.shipped(text))?;
            }
        }
        Ok(())
    }

    /// Write the profile (only if there is none: an admin may have edited it).
    pub fn write_profile(&self, text: &str) -> Result<bool, String> {
        if self.exists() {
            return Ok(false);
        }
        let _ = fs::remove_file(self.profile()); // a zero-length leftover
        write_new(&self.profile(), text)?;
        Ok(true)
    }

    /// Write the rules, unless they are already what `text` says.
    pub fn write_files(&self, text: &str) -> Result<(), String> {
        if fs::read_to_string(self.files()).is_ok_and(|t| t == text) {
            return Ok(());
        }
        let tmp = self.dir.join(format!(".{}.files.tmp", self.name));
        let _ = fs::remove_file(&tmp);
        write_new(&tmp, text)?;
        fs::rename(&tmp, self.files())
            .map_err(|e| format!("cannot replace {}: {e}", self.files().display()))
    }

    /// Delete the profile and its rules (missing ones are fine).
    pub fn delete(&self) -> Result<(), String> {
        for p in [self.files(), self.profile()] {
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("cannot delete {}: {e}", p.display())),
            }
        }
        Ok(())
    }
}

fn with_complain(head: &str) -> String {
    match head.find("flags=(") {
        Some(i) => {
            let at = i + "flags=(".len();
            format!("{}complain,{}", &head[..at], &head[at..])
        }
        None => format!(" flags=(complain){}", head.trim_end()) + " ",
    }
}

fn write_new(path: &Path, text: &str) -> Result<(), String> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.set_permissions(fs::Permissions::from_mode(0o644)))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `apparmor_parser`, found where Debian and others install it (PATH is not trusted).
pub fn parser() -> Result<&'static str, String> {
    PARSERS
        .iter()
        .copied()
        .find(|p| Path::new(p).exists())
        .ok_or_else(|| {
            "apparmor_parser not found in /sbin or /usr/sbin; install the apparmor package".into()
        })
}

/// Load (replace) the profile in the kernel, or only compile it when `compile_only`.
pub fn load(f: &ProfileFiles, compile_only: bool) -> Result<(), String> {
    let mode = if compile_only { "-Q" } else { "-r" };
    let out = Command::new(parser()?)
        .args([mode, "-K"])
        .arg(f.profile())
        .env_clear()
        .env("PATH", "/sbin:/usr/sbin")
        .output()
        .map_err(|e| format!("cannot run apparmor_parser: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "apparmor_parser {mode} {} failed ({}): {}",
        f.profile().display(),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

/// Unload the profile; one that is not loaded is a warning (libvirt's exit 234).
pub fn unload(name: &str) -> Result<Option<String>, String> {
    match fs::OpenOptions::new().write(true).open(REMOVE) {
        Ok(mut f) => match f.write_all(name.as_bytes()) {
            Ok(()) => Ok(None),
            Err(e) if e.raw_os_error() == Some(ENOENT) => {
                Ok(Some(format!("profile {name} was not loaded")))
            }
            Err(e) => Err(format!("cannot unload {name} through {REMOVE}: {e}")),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Some(format!(
            "AppArmor is not enabled in this kernel (no {REMOVE}); {name} is not loaded"
        ))),
        Err(e) => Err(format!("cannot open {REMOVE}: {e}")),
    }
}

/// Whether the kernel has the profile loaded, and in which mode (`enforce`, `complain`).
pub fn loaded_mode(name: &str) -> Option<String> {
    let list = fs::read_to_string("/sys/kernel/security/apparmor/profiles").ok()?;
    list.lines().find_map(|l| {
        let (n, mode) = l.rsplit_once(' ')?;
        (n == name).then(|| mode.trim_matches(|c| c == '(' || c == ')').to_string())
    })
}
