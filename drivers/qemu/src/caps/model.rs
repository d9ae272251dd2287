//! The capabilities of one QEMU binary as oxvirt keeps them: version, target
//! architecture, machine types (with aliases and the default), accelerators, CPU models,
//! device types, and a set of libvirt-named capability flags.
//!
//! The flags are the ones the argv builder consults; `<qemu:capabilities>` in a domain
//! adds or removes them ([`QemuCaps::with_overrides`]):
//!
//! | flag | meaning | used for |
//! |---|---|---|
//! | `blockdev` | QEMU has `blockdev-add` | disks as `-blockdev` + `-device` (else legacy `-drive`) |
//! | `drive` | QEMU has `-drive` | the fallback when `blockdev` is off |
//! | `device.json` | `-device` accepts JSON (QEMU ≥ 6.2) | `-device {...}` (else `driver,key=value`) |
//! | `kvm` | QEMU was built with KVM | `<domain type='kvm'>` |
//! | `tcg` | QEMU has the TCG accelerator | `<domain type='qemu'>` |

use oxvirt_core::domain::Domain;
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Every flag name oxvirt knows (for `<qemu:capabilities>` validation messages).
pub const KNOWN_FLAGS: &[&str] = &["blockdev", "drive", "device.json", "kvm", "tcg"];

/// One machine type from `query-machines`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineType {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default)]
    pub is_default: bool,
    pub cpu_max: u32,
    #[serde(default)]
    pub deprecated: bool,
}

/// One CPU model from `query-cpu-definitions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuModel {
    pub name: String,
    #[serde(default)]
    pub deprecated: bool,
    /// No unavailable features under the probe's accelerator (TCG).
    #[serde(default)]
    pub usable: bool,
}

/// What one QEMU binary can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QemuCaps {
    pub binary: PathBuf,
    /// libvirt encoding: major * 1_000_000 + minor * 1000 + micro.
    pub version: u64,
    pub package: String,
    /// QEMU's target name (`x86_64`, `i386`, `aarch64`, ...).
    pub target: String,
    pub machines: Vec<MachineType>,
    pub cpu_models: Vec<CpuModel>,
    pub device_types: BTreeSet<String>,
    pub flags: BTreeSet<String>,
    /// Whether KVM can be used right now (QEMU has it *and* /dev/kvm works). Not
    /// cached: set on every load.
    #[serde(skip)]
    pub kvm_usable: bool,
    /// How many QMP commands the probe sent (for the benchmark); 0 when cached.
    #[serde(skip)]
    pub probe_commands: usize,
}

impl QemuCaps {
    pub fn has(&self, flag: &str) -> bool {
        self.flags.contains(flag)
    }

    /// libvirt's architecture name for the QEMU target.
    pub fn arch(&self) -> &str {
        arch_of_target(&self.target)
    }

    /// 32 or 64.
    pub fn wordsize(&self) -> u32 {
        match self.arch() {
            "x86_64" | "aarch64" | "ppc64" | "ppc64le" | "mips64" | "mips64el" | "sparc64"
            | "s390x" | "riscv64" => 64,
            _ => 32,
        }
    }

    /// The version as `major.minor.micro`.
    pub fn version_string(&self) -> String {
        format!(
            "{}.{}.{}",
            self.version / 1_000_000,
            (self.version / 1000) % 1000,
            self.version % 1000
        )
    }

    /// The default machine type's canonical name.
    pub fn default_machine(&self) -> Option<&MachineType> {
        self.machines.iter().find(|m| m.is_default)
    }

    /// Resolve `name` (an alias such as `pc`, or a canonical name) to the machine type
    /// QEMU runs; `None` for the default machine. An unknown name is an error.
    pub fn resolve_machine(&self, name: Option<&str>) -> Result<&MachineType> {
        let found = match name {
            None => self.default_machine(),
            Some(n) => self
                .machines
                .iter()
                .find(|m| m.alias.as_deref() == Some(n))
                .or_else(|| self.machines.iter().find(|m| m.name == n)),
        };
        found.ok_or_else(|| {
            Error::new(
                ErrorCode::ConfigUnsupported,
                ErrorDomain::Qemu,
                format!(
                    "unsupported configuration: Emulator '{}' does not support machine type '{}'",
                    self.binary.display(),
                    name.unwrap_or("(default)")
                ),
            )
        })
    }

    /// A copy with the domain's `<qemu:capabilities>` add/del applied.
    pub fn with_overrides(&self, dom: &Domain) -> QemuCaps {
        let mut c = self.clone();
        if let Some(o) = &dom.qemu_capabilities {
            for a in &o.add {
                c.flags.insert(a.clone());
            }
            for d in &o.del {
                c.flags.remove(d);
            }
        }
        c
    }

    /// Whether QEMU knows the device (or QOM) type `name`. Without probed device types
    /// (the built-in assumption) every type is accepted.
    pub fn has_device(&self, name: &str) -> bool {
        self.device_types.is_empty() || self.device_types.contains(name)
    }

    /// What the argv builder assumes when no QEMU was probed: QEMU 7.2 with every
    /// flag, no machine or device list (names are passed through unchecked).
    pub fn assumed() -> QemuCaps {
        QemuCaps {
            binary: PathBuf::new(),
            version: 7_002_000,
            package: String::new(),
            target: "x86_64".into(),
            machines: Vec::new(),
            cpu_models: Vec::new(),
            device_types: BTreeSet::new(),
            flags: ["blockdev", "drive", "device.json", "kvm", "tcg"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            kvm_usable: true,
            probe_commands: 0,
        }
    }
}

/// QEMU target → libvirt arch name.
pub fn arch_of_target(target: &str) -> &str {
    match target {
        "i386" => "i686",
        other => other,
    }
}

/// The QEMU binary name for a libvirt arch (`i686` → `qemu-system-i386`).
pub fn target_of_arch(arch: &str) -> &str {
    match arch {
        "i686" | "i386" => "i386",
        other => other,
    }
}
