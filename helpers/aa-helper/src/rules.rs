//! The VM's rules (`libvirt-UUID.files`): every path QEMU opens, with its mode, from
//! the domain definition — the resources the QEMU driver lists for the security
//! backends (`oxvirt_driver_qemu::resources`: disks, kernel/initrd/loader, chardev
//! files and sockets) plus what only a profile needs (backing chains as this helper's
//! probing setting allows, nvram, listening sockets QEMU creates, the emulator, the
//! VM's own directories and log). Modes as virt-aa-helper's: writable disks `rwk`,
//! read-only disks and backing files `rk`, boot files `r`, chardevs and sockets `rw`;
//! every read-only rule with a silent `deny ... w`.

use crate::paths::{self, Refusal};
use oxvirt_core::domain::{ChardevSource, DiskType, Domain};
use oxvirt_core::security::ResourceKind;
use oxvirt_driver_qemu::resources::{qcow2_backing_file, vm_resources};
use std::path::{Path, PathBuf};

/// How deep a backing chain is followed (virt-aa-helper's limit).
const MAX_CHAIN: usize = 200;

/// One rule of the `.files` include.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rule's path, already escaped (or a pattern of ours).
    pub path: String,
    pub perms: &'static str,
}

impl Rule {
    fn writable(&self) -> bool {
        self.perms.contains('w')
    }

    /// The rule as a line (two, with the `deny` of a read-only one).
    pub fn lines(&self) -> String {
        let mut s = format!("  \"{}\" {},\n", self.path, self.perms);
        if !self.writable() {
            s.push_str("  # don't audit writes to readonly files\n");
            s.push_str(&format!("  deny \"{}\" w,\n", self.path));
        }
        s
    }
}

/// A path this VM may not have, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub message: String,
}

/// What the rules are made from besides the XML.
pub struct Context<'a> {
    pub profile_dir: &'a Path,
    pub probing: bool,
    pub vm_dirs: &'a [PathBuf],
    pub log: Option<&'a Path>,
}

/// Collects rules, refusing paths that may not be in a profile.
struct Collector<'a> {
    ctx: &'a Context<'a>,
    rules: Vec<Rule>,
    warnings: Vec<String>,
}

impl Collector<'_> {
    /// A host file named by the XML: resolved, checked, escaped.
    fn file(&mut self, what: &str, path: &str, perms: &'static str) -> Result<(), Refused> {
        let writable = perms.contains('w');
        if !path.starts_with('/') {
            self.warnings
                .push(format!("{what}: skipped non-absolute path '{path}'"));
            return Ok(());
        }
        let resolved = paths::resolve(Path::new(path));
        let resolved = resolved.to_string_lossy();
        paths::check(&resolved, writable, self.ctx.profile_dir).map_err(|r| Refused {
            message: r.message(what, path),
        })?;
        self.push(paths::escape(&resolved), perms);
        Ok(())
    }

    fn push(&mut self, path: String, perms: &'static str) {
        if !self
            .rules
            .iter()
            .any(|r| r.path == path && r.perms == perms)
        {
            self.rules.push(Rule { path, perms });
        }
    }

    /// The VM's own files: oxvirt's directories and log when given, else libvirt's.
    fn fixed(&mut self, dom: &Domain) -> Result<(), Refused> {
        if self.ctx.vm_dirs.is_empty() && self.ctx.log.is_none() {
            let n = &dom.name;
            let short: String = n.chars().take(20).collect();
            let id = dom.id.map(i64::from).unwrap_or(-1);
            self.push(format!("/var/log/libvirt/**/{n}.log"), "w");
            self.push(
                format!("/var/lib/libvirt/qemu/domain-{n}/monitor.sock"),
                "rw",
            );
            self.push(format!("/var/lib/libvirt/qemu/domain-{id}-{short}/*"), "rw");
            self.push(format!("/run/libvirt/**/{n}.pid"), "rwk");
            self.push(format!("/run/libvirt/**/*.tunnelmigrate.dest.{n}"), "rw");
            return Ok(());
        }
        if let Some(log) = self.ctx.log {
            self.file("the domain log", &log.to_string_lossy(), "w")?;
        }
        for dir in self.ctx.vm_dirs {
            let d = dir.to_string_lossy();
            let resolved = paths::resolve(dir);
            paths::check(&resolved.to_string_lossy(), true, self.ctx.profile_dir).map_err(|r| {
                Refused {
                    message: r.message("the VM's directory", &d),
                }
            })?;
            let e = paths::escape(&resolved.to_string_lossy());
            self.push(format!("{e}/"), "rw");
            self.push(format!("{e}/**"), "rwk");
        }
        Ok(())
    }

    fn disks(&mut self, dom: &Domain) -> Result<(), Refused> {
        for d in &dom.devices.disks {
            let Some(src) = &d.source else { continue };
            let what = format!("disk '{}'", d.target_dev);
            self.file(&what, src, if d.readonly { "rk" } else { "rwk" })?;
            let follow = match d.driver_type.as_deref() {
                Some("qcow2") => true,
                None => self.ctx.probing,
                Some(_) => false,
            };
            if d.disk_type != DiskType::File || !follow {
                continue;
            }
            let mut cur = PathBuf::from(src);
            for _ in 0..MAX_CHAIN {
                let Some(b) = qcow2_backing_file(&cur) else {
                    break;
                };
                self.file(&format!("{what} backing file"), &b.to_string_lossy(), "rk")?;
                cur = b;
            }
        }
        Ok(())
    }

    /// Boot files and chardevs, as the driver lists them for every backend.
    fn resources(&mut self, dom: &Domain) -> Result<(), Refused> {
        for r in vm_resources(dom, &[]) {
            let p = r.path.to_string_lossy();
            match r.kind {
                ResourceKind::BootFile if dom.os.loader.as_deref() == Some(&*p) => {
                    self.file("the loader", &p, "rk")?
                }
                ResourceKind::BootFile => self.file("a boot file (kernel/initrd)", &p, "r")?,
                ResourceKind::Chardev => self.file("a chardev", &p, "rw")?,
                ResourceKind::Hostdev => self.file("a host device", &p, "rw")?,
                ResourceKind::Disk { .. } | ResourceKind::BackingFile | ResourceKind::VmDir => {}
            }
        }
        Ok(())
    }

    /// What QEMU creates or opens that no backend labels.
    fn extras(&mut self, dom: &Domain) -> Result<(), Refused> {
        if let Some(nv) = dom.os.nvram.as_ref().and_then(|n| n.path.as_deref()) {
            self.file("the nvram file", nv, "rwk")?;
        }
        let chardevs = dom
            .devices
            .serials
            .iter()
            .chain(&dom.devices.consoles)
            .chain(&dom.devices.channels);
        for c in chardevs {
            // An empty path: the driver puts the socket in the VM's own directory.
            if let ChardevSource::Unix { path, .. } = &c.source {
                if !path.is_empty() {
                    self.file("a chardev socket", path, "rw")?;
                }
            }
        }
        for rng in &dom.devices.rngs {
            if let Some(dev) = &rng.backend_dev {
                if dev != "/dev/urandom" && dev != "/dev/random" {
                    self.file("the rng backend", dev, "r")?;
                }
            }
        }
        if let Some(emu) = &dom.devices.emulator {
            // The emulator lives in /usr/bin, which disks may not: an exec rule of its
            // own (the driver allows only emulators in emulator_dirs).
            if !emu.starts_with('/') || emu.contains('"') || emu.chars().any(char::is_control) {
                return Err(Refused {
                    message: Refusal::Unquotable.message("the emulator", emu),
                });
            }
            let resolved = paths::resolve(Path::new(emu));
            self.push(paths::escape(&resolved.to_string_lossy()), "rmix");
        }
        Ok(())
    }
}

/// The rules for `dom` (and any warnings: skipped relative paths).
pub fn collect(dom: &Domain, ctx: &Context) -> Result<(Vec<Rule>, Vec<String>), Refused> {
    let mut c = Collector {
        ctx,
        rules: Vec::new(),
        warnings: Vec::new(),
    };
    c.fixed(dom)?;
    c.disks(dom)?;
    c.resources(dom)?;
    c.extras(dom)?;
    Ok((c.rules, c.warnings))
}

/// The rule of an extra file (`-f`/`-F`): `rwk`, checked like a disk.
pub fn extra_file(path: &str, ctx: &Context) -> Result<Rule, Refused> {
    let mut c = Collector {
        ctx,
        rules: Vec::new(),
        warnings: Vec::new(),
    };
    c.file("the added file", path, "rwk")?;
    c.rules.pop().ok_or_else(|| Refused {
        message: format!("the added file: '{path}' is not an absolute path"),
    })
}

/// The text of `libvirt-UUID.files`.
pub fn files_text(rules: &[Rule]) -> String {
    let mut s = String::from("# DO NOT EDIT THIS FILE DIRECTLY. IT IS MANAGED BY OXVIRT.\n");
    for r in rules {
        s.push_str(&r.lines());
    }
    s
}
