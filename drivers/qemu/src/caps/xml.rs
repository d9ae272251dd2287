//! The capabilities XML (`virsh capabilities`, libvirt's `capability.rng`) and the
//! domain capabilities XML (`virsh domcapabilities`, `domaincaps.rng`), built from the
//! probed [`QemuCaps`] and the host's `/proc` and `/sys`.

use super::model::QemuCaps;
use oxvirt_core::security::SecModel;
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::fmt::Write as _;

/// Escape text and attribute values.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

/// Host facts for `<host>`.
#[derive(Debug, Clone, Default)]
pub struct HostInfo {
    pub uuid: Option<String>,
    pub arch: String,
    pub vendor: Option<String>,
    pub sockets: u32,
    pub cores: u32,
    pub threads: u32,
    pub memory_kib: u64,
    /// (cpu id, socket id, core id, siblings list)
    pub cpus: Vec<(u32, u32, u32, String)>,
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

impl HostInfo {
    /// Read the host: SMBIOS or machine-id uuid, `uname` arch, `/proc/cpuinfo`,
    /// `/proc/meminfo`, `/sys/devices/system/cpu/cpuN/topology`.
    pub fn probe() -> HostInfo {
        let uuid = read("/sys/class/dmi/id/product_uuid")
            .and_then(|u| uuid::Uuid::parse_str(&u).ok())
            .or_else(|| read("/etc/machine-id").and_then(|m| uuid::Uuid::parse_str(&m).ok()))
            .map(|u| u.hyphenated().to_string());
        let arch = nix::sys::utsname::uname()
            .map(|u| u.machine().to_string_lossy().into_owned())
            .unwrap_or_else(|_| std::env::consts::ARCH.to_string());
        let cpuinfo = read("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            cpuinfo.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == name).then(|| v.trim().to_string())
            })
        };
        let vendor = field("vendor_id").map(|v| match v.as_str() {
            "AuthenticAMD" => "AMD".to_string(),
            "GenuineIntel" => "Intel".to_string(),
            _ => v,
        });
        let mut cpus = Vec::new();
        let mut sockets = std::collections::BTreeSet::new();
        for id in 0..4096u32 {
            let base = format!("/sys/devices/system/cpu/cpu{id}/topology");
            let Some(sock) = read(&format!("{base}/physical_package_id")) else {
                if id > 0
                    && !std::path::Path::new(&format!("/sys/devices/system/cpu/cpu{id}")).exists()
                {
                    break;
                }
                continue;
            };
            let sock: u32 = sock.parse().unwrap_or(0);
            let core: u32 = read(&format!("{base}/core_id"))
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let sib =
                read(&format!("{base}/thread_siblings_list")).unwrap_or_else(|| id.to_string());
            sockets.insert(sock);
            cpus.push((id, sock, core, sib));
        }
        let n = cpus.len().max(1) as u32;
        let sockets = sockets.len().max(1) as u32;
        let cores: u32 = field("cpu cores")
            .and_then(|c| c.parse().ok())
            .unwrap_or(n / sockets)
            .max(1);
        let threads = (n / sockets / cores).max(1);
        let memory_kib = read("/proc/meminfo")
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0);
        HostInfo {
            uuid,
            arch,
            vendor,
            sockets,
            cores,
            threads,
            memory_kib,
            cpus,
        }
    }
}

/// `<capabilities>`: the host, then one `<guest>` per architecture (the first binary
/// found for an architecture wins, as in libvirt).
pub fn capabilities_xml(host: &HostInfo, secmodels: &[SecModel], caps: &[QemuCaps]) -> String {
    let mut s = String::from("<capabilities>\n\n  <host>\n");
    if let Some(u) = &host.uuid {
        let _ = writeln!(s, "    <uuid>{u}</uuid>");
    }
    host_cpu(&mut s, host);
    s.push_str("    <migration_features>\n      <live/>\n      <uri_transports>\n        <uri_transport>tcp</uri_transport>\n      </uri_transports>\n    </migration_features>\n");
    host_topology(&mut s, host);
    for m in secmodels {
        secmodel(&mut s, m);
    }
    s.push_str("  </host>\n\n");

    let mut guests: Vec<&QemuCaps> = Vec::new();
    for c in caps {
        if !guests.iter().any(|g| g.arch() == c.arch()) {
            guests.push(c);
        }
    }
    guests.sort_by(|a, b| a.arch().cmp(b.arch()));
    for c in guests {
        guest(&mut s, c);
    }
    s.push_str("</capabilities>\n");
    s
}

/// `<host><cpu>`: arch, vendor, topology.
fn host_cpu(s: &mut String, host: &HostInfo) {
    let _ = writeln!(s, "    <cpu>\n      <arch>{}</arch>", esc(&host.arch));
    if let Some(v) = &host.vendor {
        let _ = writeln!(s, "      <vendor>{}</vendor>", esc(v));
    }
    let _ = writeln!(
        s,
        "      <topology sockets='{}' dies='1' cores='{}' threads='{}'/>\n    </cpu>",
        host.sockets, host.cores, host.threads
    );
}

/// `<host><topology>`: one NUMA cell with the host's memory and CPUs.
fn host_topology(s: &mut String, host: &HostInfo) {
    let _ = writeln!(
        s,
        "    <topology>\n      <cells num='1'>\n        <cell id='0'>\n          <memory unit='KiB'>{}</memory>",
        host.memory_kib
    );
    let _ = writeln!(s, "          <cpus num='{}'>", host.cpus.len());
    for (id, sock, core, sib) in &host.cpus {
        let _ = writeln!(
            s,
            "            <cpu id='{id}' socket_id='{sock}' die_id='0' core_id='{core}' siblings='{}'/>",
            esc(sib)
        );
    }
    s.push_str("          </cpus>\n        </cell>\n      </cells>\n    </topology>\n");
}

/// `<secmodel>` of one security driver.
fn secmodel(s: &mut String, m: &SecModel) {
    let _ = writeln!(
        s,
        "    <secmodel>\n      <model>{}</model>\n      <doi>{}</doi>",
        esc(&m.model),
        esc(&m.doi)
    );
    for (t, l) in &m.baselabels {
        let _ = writeln!(
            s,
            "      <baselabel type='{}'>{}</baselabel>",
            esc(t),
            esc(l)
        );
    }
    s.push_str("    </secmodel>\n");
}

/// One `<guest>`: the binary, its machines, domain types and features.
fn guest(s: &mut String, c: &QemuCaps) {
    let _ = writeln!(
        s,
        "  <guest>\n    <os_type>hvm</os_type>\n    <arch name='{}'>\n      <wordsize>{}</wordsize>\n      <emulator>{}</emulator>",
        esc(c.arch()),
        c.wordsize(),
        esc(&c.binary.to_string_lossy())
    );
    guest_machines(s, c);
    if c.has("tcg") {
        s.push_str("      <domain type='qemu'/>\n");
    }
    if c.kvm_usable {
        s.push_str("      <domain type='kvm'/>\n");
    }
    s.push_str("    </arch>\n    <features>\n");
    if c.arch() == "i686" {
        s.push_str("      <pae/>\n      <nonpae/>\n");
    }
    if matches!(c.arch(), "i686" | "x86_64") {
        s.push_str(
            "      <acpi default='on' toggle='yes'/>\n      <apic default='on' toggle='no'/>\n",
        );
    }
    s.push_str("      <cpuselection/>\n      <deviceboot/>\n      <disksnapshot default='on' toggle='no'/>\n    </features>\n  </guest>\n\n");
}

/// The default machine first, then QEMU's order; an alias right after its target.
fn guest_machines(s: &mut String, c: &QemuCaps) {
    let mut order: Vec<_> = c.machines.iter().filter(|m| m.name != "none").collect();
    order.sort_by_key(|m| !m.is_default);
    for m in order {
        let dep = if m.deprecated {
            " deprecated='yes'"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "      <machine maxCpus='{}'{dep}>{}</machine>",
            m.cpu_max,
            esc(&m.name)
        );
        if let Some(a) = &m.alias {
            let _ = writeln!(
                s,
                "      <machine canonical='{}' maxCpus='{}'{dep}>{}</machine>",
                esc(&m.name),
                m.cpu_max,
                esc(a)
            );
        }
    }
}

/// Pick the binary for `domcapabilities` the way libvirt does: by emulator path, else
/// by architecture (default: the host's), then check machine and virt type.
pub fn select<'a>(
    caps: &'a [QemuCaps],
    host_arch: &str,
    emulator: Option<&str>,
    arch: Option<&str>,
) -> Result<&'a QemuCaps> {
    if let Some(e) = emulator {
        let c = caps
            .iter()
            .find(|c| c.binary.to_string_lossy() == e)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidArg,
                    ErrorDomain::Qemu,
                    format!("invalid argument: no usable QEMU binary '{e}' (not in emulator_dirs, or its probe failed)"),
                )
            })?;
        if let Some(a) = arch {
            if a != c.arch() {
                return Err(Error::invalid_arg(format!(
                    "invalid argument: architecture from emulator '{}' doesn't match given architecture '{a}'",
                    c.arch()
                )));
            }
        }
        return Ok(c);
    }
    let want = arch.unwrap_or(host_arch);
    caps.iter().find(|c| c.arch() == want).ok_or_else(|| {
        Error::new(
            ErrorCode::ConfigUnsupported,
            ErrorDomain::Qemu,
            format!("unsupported configuration: Emulator for architecture '{want}' not found; install it or add its directory to emulator_dirs"),
        )
    })
}

fn enum_values(s: &mut String, indent: &str, name: &str, values: &[&str]) {
    let _ = writeln!(s, "{indent}<enum name='{name}'>");
    for v in values {
        let _ = writeln!(s, "{indent}  <value>{v}</value>");
    }
    let _ = writeln!(s, "{indent}</enum>");
}

/// `<domainCapabilities>` for one binary, machine and virt type: what oxvirt's argv
/// builder can turn into a command line for this QEMU.
pub fn domain_capabilities_xml(
    c: &QemuCaps,
    machine: Option<&str>,
    virttype: Option<&str>,
    host: &HostInfo,
) -> Result<String> {
    let m = c.resolve_machine(machine)?;
    let virt = virt_type(c, virttype)?;
    let mut s = String::from("<domainCapabilities>\n");
    let _ = writeln!(s, "  <path>{}</path>", esc(&c.binary.to_string_lossy()));
    let _ = writeln!(s, "  <domain>{virt}</domain>");
    let _ = writeln!(s, "  <machine>{}</machine>", esc(&m.name));
    let _ = writeln!(s, "  <arch>{}</arch>", esc(c.arch()));
    let _ = writeln!(s, "  <vcpu max='{}'/>", m.cpu_max);
    s.push_str("  <iothreads supported='no'/>\n");
    s.push_str(
        "  <os supported='yes'>\n    <enum name='firmware'/>\n    <loader supported='yes'>\n",
    );
    enum_values(&mut s, "      ", "type", &["rom"]);
    enum_values(&mut s, "      ", "readonly", &["yes", "no"]);
    enum_values(&mut s, "      ", "secure", &["no"]);
    s.push_str("    </loader>\n  </os>\n");
    domcaps_cpu(&mut s, c, virt);
    s.push_str("  <memoryBacking supported='no'/>\n");
    domcaps_devices(&mut s, c, m.name.contains("q35"));
    let _ = host;
    s.push_str("  <features>\n    <gic supported='no'/>\n    <vmcoreinfo supported='no'/>\n    <genid supported='no'/>\n    <backingStoreInput supported='no'/>\n    <backup supported='no'/>\n    <sev supported='no'/>\n    <sgx supported='no'/>\n  </features>\n</domainCapabilities>\n");
    Ok(s)
}

/// The virt type asked for (default: kvm when usable, else qemu).
fn virt_type(c: &QemuCaps, virttype: Option<&str>) -> Result<&'static str> {
    match virttype {
        Some("kvm") if !c.kvm_usable => Err(Error::new(
            ErrorCode::ConfigUnsupported,
            ErrorDomain::Qemu,
            format!(
                "unsupported configuration: KVM is not available for emulator '{}' (QEMU without KVM or /dev/kvm not usable)",
                c.binary.display()
            ),
        )),
        Some("kvm") => Ok("kvm"),
        Some("qemu") => Ok("qemu"),
        Some(other) => Err(Error::invalid_arg(format!(
            "invalid argument: unknown virttype: {other}"
        ))),
        None if c.kvm_usable => Ok("kvm"),
        None => Ok("qemu"),
    }
}

/// `<cpu>`: the modes and the named models.
fn domcaps_cpu(s: &mut String, c: &QemuCaps, virt: &str) {
    let yn = |b: bool| if b { "yes" } else { "no" };
    s.push_str("  <cpu>\n");
    let _ = writeln!(
        s,
        "    <mode name='host-passthrough' supported='{}'/>",
        yn(virt == "kvm")
    );
    s.push_str("    <mode name='maximum' supported='yes'/>\n");
    s.push_str("    <mode name='host-model' supported='no'/>\n");
    s.push_str("    <mode name='custom' supported='yes'>\n");
    for cpu in &c.cpu_models {
        if cpu.name == "host" && virt != "kvm" {
            continue;
        }
        let dep = if cpu.deprecated {
            " deprecated='yes'"
        } else {
            ""
        };
        let usable = if virt == "kvm" {
            "unknown"
        } else {
            yn(cpu.usable)
        };
        let _ = writeln!(
            s,
            "      <model usable='{usable}'{dep} vendor='unknown'>{}</model>",
            esc(&cpu.name)
        );
    }
    s.push_str("    </mode>\n  </cpu>\n");
}

/// `<devices>`: what the argv builder can build for this QEMU and machine.
fn domcaps_devices(s: &mut String, c: &QemuCaps, q35: bool) {
    s.push_str("  <devices>\n    <disk supported='yes'>\n");
    enum_values(s, "      ", "diskDevice", &["disk", "cdrom"]);
    let buses: &[&str] = if q35 {
        &["scsi", "virtio", "sata"]
    } else {
        &["ide", "scsi", "virtio", "sata"]
    };
    enum_values(s, "      ", "bus", buses);
    enum_values(s, "      ", "model", &[]);
    s.push_str("    </disk>\n    <graphics supported='yes'>\n");
    enum_values(s, "      ", "type", &["vnc"]);
    s.push_str("    </graphics>\n    <video supported='yes'>\n");
    let videos: Vec<&str> = [
        ("vga", "VGA"),
        ("cirrus", "cirrus-vga"),
        ("virtio", "virtio-vga"),
        ("none", ""),
    ]
    .iter()
    .filter(|(_, dev)| dev.is_empty() || c.has_device(dev))
    .map(|(n, _)| *n)
    .collect();
    enum_values(s, "      ", "modelType", &videos);
    s.push_str("    </video>\n    <hostdev supported='no'/>\n    <rng supported='yes'>\n");
    enum_values(s, "      ", "model", &["virtio"]);
    enum_values(s, "      ", "backendModel", &["random"]);
    s.push_str("    </rng>\n    <filesystem supported='no'/>\n    <tpm supported='no'/>\n    <redirdev supported='no'/>\n    <channel supported='yes'>\n");
    enum_values(s, "      ", "type", &["pty", "unix"]);
    s.push_str("    </channel>\n  </devices>\n");
}
