//! Host verbs: the emulator a domain runs, the hypervisor version, capabilities and
//! domain capabilities (probed QEMU capabilities, cached under `cache/qemu/capabilities`).

use crate::caps::{self, QemuCaps};
use crate::driver::QemuDriver;
use crate::security::SecuritySpec;
use oxvirt_core::domain::Domain;
use oxvirt_core::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) fn hypervisor_version(drv: &QemuDriver) -> Result<u64> {
    let dom = Domain::default();
    let bin = drv.emulator(&dom)?;
    let out = Command::new(&bin)
        .arg("--version")
        .output()
        .map_err(|e| Error::system(format!("cannot run '{}'", bin.display()), e))?;
    parse_qemu_version(&String::from_utf8_lossy(&out.stdout)).ok_or_else(|| {
        Error::operation_failed(format!("cannot read the version of '{}'", bin.display()))
    })
}

pub(crate) fn capabilities(drv: &QemuDriver) -> Result<String> {
    let all = drv.all_caps();
    let host = caps::xml::HostInfo::probe();
    // One <secmodel> per backend of the configured stack, in stack order.
    let secmodels = match SecuritySpec::from_config(&drv.config, &drv.layout.root).manager() {
        Ok(m) => m.secmodels(),
        Err(e) => {
            tracing::warn!("no <secmodel> in the capabilities: {}", e.message);
            Vec::new()
        }
    };
    Ok(caps::xml::capabilities_xml(&host, &secmodels, &all))
}

pub(crate) fn domain_capabilities(
    drv: &QemuDriver,
    emulator: Option<&str>,
    arch: Option<&str>,
    machine: Option<&str>,
    virttype: Option<&str>,
) -> Result<String> {
    // A caller's binary must be a QEMU of emulator_dirs before anything probes it.
    let emulator = emulator
        .map(|e| caps::resolve_emulator(&drv.config.emulator_dirs, e))
        .transpose()?;
    let host = caps::xml::HostInfo::probe();
    let all = match &emulator {
        Some(e) => vec![drv.caps_for(e)?],
        None => drv.all_caps(),
    };
    let name = emulator.as_ref().map(|e| e.to_string_lossy().into_owned());
    let c = caps::xml::select(&all, &host.arch, name.as_deref(), arch)?;
    caps::xml::domain_capabilities_xml(c, machine, virttype, &host)
}

impl QemuDriver {
    /// The QEMU binary for `dom`: its `<emulator>` if that is a QEMU in `emulator_dirs`
    /// ([`caps::resolve_emulator`]: nothing else is ever run), else the first match in
    /// `emulator_dirs`.
    pub(crate) fn emulator(&self, dom: &Domain) -> Result<PathBuf> {
        if let Some(e) = &dom.devices.emulator {
            return caps::resolve_emulator(&self.config.emulator_dirs, e);
        }
        let arch = dom.os.arch.as_deref().unwrap_or("x86_64");
        let wanted: &[&str] = match arch {
            "x86_64" | "i686" | "i386" => &["qemu-system-x86_64", "qemu-system-i386", "qemu-kvm"],
            "aarch64" => &["qemu-system-aarch64"],
            other => {
                return Err(Error::unsupported(format!(
                    "no emulator known for architecture '{other}'; set <emulator>"
                )))
            }
        };
        for dir in &self.config.emulator_dirs {
            for bin in wanted {
                let p = dir.join(bin);
                if p.is_file() {
                    return Ok(p);
                }
            }
        }
        Err(Error::operation_failed(format!(
            "Cannot find a QEMU binary for architecture '{arch}' in {}; install qemu-system-x86 or set <emulator>",
            self.config
                .emulator_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// The capabilities of `emulator` (cached under `cache/qemu/capabilities`).
    pub fn caps_for(&self, emulator: &Path) -> Result<QemuCaps> {
        caps::cache::load(&self.layout.capabilities_cache(), emulator).map_err(|e| {
            Error::new(
                e.code,
                e.domain,
                format!(
                    "cannot probe the capabilities of QEMU '{}': {}",
                    emulator.display(),
                    e.message
                ),
            )
        })
    }

    /// The capabilities of every QEMU in `emulator_dirs` (broken ones skipped).
    pub fn all_caps(&self) -> Vec<QemuCaps> {
        caps::load_all(
            &self.layout.capabilities_cache(),
            &self.config.emulator_dirs,
        )
        .0
    }
}

/// `QEMU emulator version 7.2.22 (Debian ...)` → 7_002_022.
pub fn parse_qemu_version(text: &str) -> Option<u64> {
    let rest = text.split("version ").nth(1)?;
    let ver = rest
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()?;
    let mut parts = ver.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let micro = parts.next().flatten().unwrap_or(0);
    Some(major * 1_000_000 + minor * 1000 + micro)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_version_parses() {
        assert_eq!(
            parse_qemu_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n"),
            Some(7_002_022)
        );
        assert_eq!(
            parse_qemu_version("QEMU emulator version 10.0\n"),
            Some(10_000_000)
        );
        assert_eq!(parse_qemu_version("garbage"), None);
    }
}
