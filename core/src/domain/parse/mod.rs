//! Domain XML → [`Domain`].
//!
//! Owns: the `<domain>` root and its top-level elements (name, uuid, memory, vcpu,
//! os, features, cpu, clock, lifecycle actions, seclabel, the `qemu:` namespace) and
//! the validation a define must do. Devices live in [`devices`], helpers in [`util`].
//! Anything libvirt allows that oxvirt does not implement is an error naming the
//! element and its path — nothing is dropped silently. Never panics on input.

mod devices;
mod util;

use uuid::Uuid;

use super::model::*;
use super::xmltree::{parse_tree, Node, Ns};
use crate::error::{Error, Result};
use util::*;

/// Parse a `<domain>` document.
pub fn parse_domain_xml(xml: &str) -> Result<Domain> {
    let root = parse_tree(xml)?;
    if root.name != "domain" || root.ns != Ns::None {
        return Err(Error::xml(format!(
            "XML error: expected root element <domain>, found <{}> (line {})",
            root.display_name(),
            root.line
        )));
    }
    parse_domain(&root, xml)
}

const P: &str = "/domain";

fn parse_domain(root: &Node, xml: &str) -> Result<Domain> {
    check_attrs(root, P, &["type", "id"])?;
    let mut dom = Domain::default();
    match root.attr("type") {
        None => return Err(missing_attr(root, P, "type")),
        Some(t) => {
            check_supported(
                root,
                P,
                "type",
                t,
                &["qemu", "kvm"],
                &[
                    "xen", "lxc", "kqemu", "openvz", "test", "vmware", "hyperv", "vbox", "phyp",
                    "vz", "bhyve", "hvf", "uml", "ch",
                ],
            )?;
            dom.virt_type = if t == "kvm" {
                VirtType::Kvm
            } else {
                VirtType::Qemu
            };
        }
    }
    dom.id = num_attr(root, P, "id")?;

    let mut name = None;
    let mut uuid = None;
    let mut memory = None;
    let mut seen: Vec<String> = Vec::new();
    let mut os_seen = false;
    for c in &root.children {
        let single = matches!(
            c.name.as_str(),
            "name"
                | "uuid"
                | "title"
                | "description"
                | "metadata"
                | "memory"
                | "currentMemory"
                | "vcpu"
                | "os"
                | "features"
                | "cpu"
                | "clock"
                | "on_poweroff"
                | "on_reboot"
                | "on_crash"
                | "devices"
                | "pm"
                | "commandline"
                | "capabilities"
        );
        let key = c.display_name();
        if single {
            if seen.contains(&key) {
                return Err(duplicate(P, c));
            }
            seen.push(key);
        }
        let path = child_path(P, c);
        match c.ns {
            Ns::Qemu => {
                parse_qemu(&mut dom, c, &path)?;
                continue;
            }
            Ns::Other(_) => return Err(unsupported_element(P, c)),
            Ns::None => {}
        }
        match c.name.as_str() {
            "name" => {
                leaf(c, &path, &[])?;
                name = Some(text(c));
            }
            "uuid" => {
                leaf(c, &path, &[])?;
                uuid = Some(parse_uuid(c, &path)?);
            }
            "title" => {
                leaf(c, &path, &[])?;
                let t = text(c);
                if t.contains('\n') {
                    return Err(Error::xml(format!(
                        "XML error: title of domain must not contain newlines (at {path}, line {})",
                        c.line
                    )));
                }
                dom.title = Some(t);
            }
            "description" => {
                leaf(c, &path, &[])?;
                dom.description = Some(text(c));
            }
            "metadata" => dom.metadata = Some(parse_metadata(c, &path, xml)?),
            "memory" => {
                leaf(c, &path, &["unit"])?;
                memory = Some(parse_memory(c, &path)?);
            }
            "currentMemory" => {
                leaf(c, &path, &["unit"])?;
                dom.current_memory_kib = Some(parse_memory(c, &path)?);
            }
            "vcpu" => dom.vcpu = parse_vcpu(c, &path)?,
            "os" => {
                dom.os = parse_os(c, &path)?;
                os_seen = true;
            }
            "features" => dom.features = parse_features(c, &path)?,
            "cpu" => dom.cpu = Some(parse_cpu(c, &path)?),
            "clock" => dom.clock = Some(parse_clock(c, &path)?),
            "on_poweroff" => dom.on_poweroff = Some(parse_lifecycle(c, &path, false)?),
            "on_reboot" => dom.on_reboot = Some(parse_lifecycle(c, &path, false)?),
            "on_crash" => dom.on_crash = Some(parse_lifecycle(c, &path, true)?),
            "devices" => dom.devices = devices::parse_devices(c, &path)?,
            "seclabel" => dom.seclabels.push(parse_seclabel(c, &path, true)?),
            "pm" => dom.pm = Some(parse_pm(c, &path)?),
            _ => return Err(unsupported_element(P, c)),
        }
    }

    let name = name.unwrap_or_default();
    if name.is_empty() {
        return Err(Error::xml(
            "XML error: domain name is missing or empty: add <name>NAME</name> to <domain>",
        ));
    }
    if name.contains('/') {
        return Err(Error::xml(format!(
            "XML error: name {name} cannot contain '/'"
        )));
    }
    dom.name = name;
    dom.uuid = uuid.unwrap_or_else(Uuid::new_v4);
    match memory {
        None | Some(0) => {
            return Err(Error::xml(format!(
                "XML error: memory size of domain '{}' must be given and greater than 0: add <memory unit='KiB'>N</memory>",
                dom.name
            )))
        }
        Some(m) => dom.memory_kib = m,
    }
    if dom.current_memory_kib == Some(0) {
        return Err(Error::xml(format!(
            "XML error: <currentMemory> of domain '{}' must be greater than 0",
            dom.name
        )));
    }
    if !os_seen {
        return Err(Error::xml(format!(
            "XML error: domain '{}' has no <os><type>hvm</type></os>",
            dom.name
        )));
    }
    let per_device_boot = dom.devices.disks.iter().any(|d| d.boot_order.is_some())
        || dom
            .devices
            .interfaces
            .iter()
            .any(|i| i.boot_order.is_some());
    if per_device_boot && !dom.os.boot.is_empty() {
        return Err(Error::unsupported(
            "unsupported configuration: per-device boot elements cannot be used together with os/boot elements",
        ));
    }
    Ok(dom)
}

fn parse_uuid(c: &Node, path: &str) -> Result<Uuid> {
    let t = text(c);
    let hex: String = t.chars().filter(|ch| *ch != '-').collect();
    let ok = hex.len() == 32 && hex.chars().all(|ch| ch.is_ascii_hexdigit());
    match (ok, Uuid::try_parse(&hex)) {
        (true, Ok(u)) => Ok(u),
        _ => Err(Error::xml(format!(
            "XML error: malformed uuid '{t}' in <uuid> (at {path}, line {}): expected 32 hex digits such as 'c7a5fdbd-cdaf-9455-926a-d65c16db1809'",
            c.line
        ))),
    }
}

/// Bytes per unit, with libvirt's rules: `KB` is 1000, `K`/`KiB` is 1024, and so on.
fn unit_scale(unit: &str) -> Option<u64> {
    let lower = unit.to_ascii_lowercase();
    if lower == "b" || lower == "byte" || lower == "bytes" {
        return Some(1);
    }
    let mut chars = lower.chars();
    let exp = match chars.next()? {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        'p' => 5,
        'e' => 6,
        _ => return None,
    };
    let base: u64 = match chars.as_str() {
        "" | "ib" => 1024,
        "b" => 1000,
        _ => return None,
    };
    base.checked_pow(exp)
}

/// `<memory unit=..>N</memory>` → KiB, rounded up.
fn parse_memory(c: &Node, path: &str) -> Result<u64> {
    let unit = c.attr("unit").unwrap_or("KiB");
    let Some(scale) = unit_scale(unit) else {
        return Err(bad_value(
            c,
            path,
            "unit",
            unit,
            "one of 'b', 'bytes', 'KB', 'k', 'KiB', 'MB', 'M', 'MiB', 'GB', 'G', 'GiB', 'TB', 'T', 'TiB'",
        ));
    };
    let t = text(c);
    let n: u64 = t.parse().map_err(|_| {
        Error::xml(format!(
            "XML error: invalid memory size '{t}' in <{}> (at {path}, line {}): expected an unsigned integer",
            c.name, c.line
        ))
    })?;
    let bytes = n.checked_mul(scale).ok_or_else(|| {
        Error::xml(format!(
            "XML error: memory size '{t} {unit}' in <{}> is too large (at {path}, line {})",
            c.name, c.line
        ))
    })?;
    Ok(bytes.div_ceil(1024))
}

fn parse_vcpu(c: &Node, path: &str) -> Result<Vcpu> {
    leaf(c, path, &["placement", "current"])?;
    let t = text(c);
    let count: u32 = t.parse().map_err(|_| {
        Error::xml(format!(
            "XML error: invalid vcpu count '{t}' in <vcpu> (at {path}, line {}): expected a positive integer",
            c.line
        ))
    })?;
    if count == 0 {
        return Err(Error::xml(format!(
            "XML error: vcpu count in <vcpu> must be at least 1 (at {path}, line {})",
            c.line
        )));
    }
    let current: Option<u32> = num_attr(c, path, "current")?;
    if let Some(cur) = current {
        if cur == 0 || cur > count {
            return Err(bad_value(
                c,
                path,
                "current",
                &cur.to_string(),
                &format!("a number between 1 and the maximum vcpu count {count}"),
            ));
        }
    }
    Ok(Vcpu {
        count,
        current,
        placement: string_enum_attr(c, path, "placement", &["static", "auto"])?,
    })
}

fn parse_os(c: &Node, path: &str) -> Result<Os> {
    check_attrs(c, path, &[])?;
    let mut os = Os::default();
    let mut type_seen = false;
    for e in &c.children {
        let p = child_path(path, e);
        if !is_plain(e) {
            return Err(unsupported_element(path, e));
        }
        match e.name.as_str() {
            "type" => {
                leaf(e, &p, &["arch", "machine"])?;
                let t = text(e);
                check_supported(e, &p, "type", &t, &["hvm"], &["xen", "linux", "exe", "uml"])?;
                if type_seen {
                    return Err(duplicate(path, e));
                }
                type_seen = true;
                os.os_type = t;
                os.arch = opt_string(e, "arch");
                os.machine = opt_string(e, "machine");
            }
            "boot" => {
                leaf(e, &p, &["dev"])?;
                req_attr(e, &p, "dev")?;
                let dev = enum_attr(
                    e,
                    &p,
                    "dev",
                    &[
                        ("hd", BootDev::Hd),
                        ("cdrom", BootDev::Cdrom),
                        ("fd", BootDev::Fd),
                        ("network", BootDev::Network),
                    ],
                )?;
                os.boot.extend(dev);
            }
            "bootmenu" => {
                leaf(e, &p, &["enable"])?;
                req_attr(e, &p, "enable")?;
                set_once(
                    &mut os.bootmenu,
                    yes_no(e, &p, "enable")?.unwrap_or(false),
                    path,
                    e,
                )?;
            }
            "kernel" => {
                leaf(e, &p, &[])?;
                set_once(&mut os.kernel, req_text(e, &p)?, path, e)?;
            }
            "initrd" => {
                leaf(e, &p, &[])?;
                set_once(&mut os.initrd, req_text(e, &p)?, path, e)?;
            }
            "cmdline" => {
                leaf(e, &p, &[])?;
                set_once(&mut os.cmdline, text(e), path, e)?;
            }
            "loader" => {
                leaf(e, &p, &["readonly", "type"])?;
                set_once(&mut os.loader, req_text(e, &p)?, path, e)?;
                os.loader_readonly = yes_no(e, &p, "readonly")?;
                os.loader_type = string_enum_attr(e, &p, "type", &["rom", "pflash"])?;
            }
            "nvram" => {
                leaf(e, &p, &["template"])?;
                let t = text(e);
                let nv = Nvram {
                    path: (!t.is_empty()).then_some(t),
                    template: opt_string(e, "template"),
                };
                set_once(&mut os.nvram, nv, path, e)?;
            }
            _ => return Err(unsupported_element(path, e)),
        }
    }
    if !type_seen {
        return Err(Error::xml(format!(
            "XML error: <os> has no <type>hvm</type> (at {path}, line {})",
            c.line
        )));
    }
    Ok(os)
}

/// `<metadata>`: every child must be in a namespace of its own (libvirt's schema);
/// each is kept as its exact source text, which must declare the namespaces it uses
/// so that it stands alone when formatted (libvirt's dumpxml writes it that way).
fn parse_metadata(c: &Node, path: &str, xml: &str) -> Result<Metadata> {
    check_attrs(c, path, &[])?;
    let mut md = Metadata::default();
    for e in &c.children {
        let p = child_path(path, e);
        let Ns::Other(uri) = &e.ns else {
            return Err(Error::xml(format!(
                "XML error: element <{}> in <metadata> must be in a namespace of its own, e.g. <app:{} xmlns:app='http://example.org/app/1.0'> (at {p}, line {})",
                e.name, e.name, e.line
            )));
        };
        let raw = xml.get(e.span.clone()).unwrap_or_default();
        if parse_tree(raw).is_err() {
            return Err(Error::unsupported(format!(
                "unsupported configuration: <{}> in <metadata> uses a namespace prefix declared outside it; declare xmlns:PREFIX='{uri}' on the element itself (at {p}, line {})",
                e.name, e.line
            )));
        }
        md.elements.push(raw.to_owned());
    }
    Ok(md)
}

fn parse_features(c: &Node, path: &str) -> Result<Features> {
    check_attrs(c, path, &[])?;
    let mut f = Features::default();
    for e in &c.children {
        let p = child_path(path, e);
        if !is_plain(e) {
            return Err(unsupported_element(path, e));
        }
        if e.name == "vmport" {
            leaf(e, &p, &["state"])?;
            req_attr(e, &p, "state")?;
            f.vmport = enum_attr(e, &p, "state", &[("on", true), ("off", false)])?;
            continue;
        }
        let slot = match e.name.as_str() {
            "acpi" => &mut f.acpi,
            "apic" => &mut f.apic,
            "pae" => &mut f.pae,
            _ => return Err(unsupported_element(path, e)),
        };
        leaf(e, &p, &[])?;
        *slot = true;
    }
    Ok(f)
}

fn parse_pm(c: &Node, path: &str) -> Result<Pm> {
    check_attrs(c, path, &[])?;
    let mut pm = Pm::default();
    for e in &c.children {
        let p = child_path(path, e);
        let slot = match e.name.as_str() {
            "suspend-to-mem" if is_plain(e) => &mut pm.suspend_to_mem,
            "suspend-to-disk" if is_plain(e) => &mut pm.suspend_to_disk,
            _ => return Err(unsupported_element(path, e)),
        };
        leaf(e, &p, &["enabled"])?;
        req_attr(e, &p, "enabled")?;
        let v = yes_no(e, &p, "enabled")?.unwrap_or(false);
        set_once(slot, v, path, e)?;
    }
    Ok(pm)
}

fn parse_cpu(c: &Node, path: &str) -> Result<Cpu> {
    check_attrs(c, path, &["mode", "match", "check"])?;
    let mut cpu = Cpu {
        mode: string_enum_attr(
            c,
            path,
            "mode",
            &["custom", "host-model", "host-passthrough", "maximum"],
        )?,
        match_: string_enum_attr(c, path, "match", &["minimum", "exact", "strict"])?,
        check: string_enum_attr(c, path, "check", &["none", "partial", "full"])?,
        ..Cpu::default()
    };
    for e in &c.children {
        let p = child_path(path, e);
        match e.name.as_str() {
            "model" if is_plain(e) => {
                leaf(e, &p, &["fallback"])?;
                set_once(&mut cpu.model, req_text(e, &p)?, path, e)?;
                cpu.model_fallback = string_enum_attr(e, &p, "fallback", &["allow", "forbid"])?;
            }
            "topology" if is_plain(e) => {
                leaf(e, &p, &["sockets", "dies", "cores", "threads"])?;
                let mut t = CpuTopology::default();
                for (attr, slot) in [
                    ("sockets", &mut t.sockets),
                    ("dies", &mut t.dies),
                    ("cores", &mut t.cores),
                    ("threads", &mut t.threads),
                ] {
                    *slot = num_attr(e, &p, attr)?;
                    if *slot == Some(0) {
                        return Err(bad_value(e, &p, attr, "0", "a positive integer"));
                    }
                }
                set_once(&mut cpu.topology, t, path, e)?;
            }
            "feature" if is_plain(e) => {
                leaf(e, &p, &["policy", "name"])?;
                let name = req_attr(e, &p, "name")?.to_owned();
                if cpu.features.iter().any(|f| f.name == name) {
                    return Err(Error::xml(format!(
                        "XML error: CPU feature '{name}' is given more than once (at {p}, line {})",
                        e.line
                    )));
                }
                cpu.features.push(CpuFeature {
                    policy: string_enum_attr(
                        e,
                        &p,
                        "policy",
                        &["force", "require", "optional", "disable", "forbid"],
                    )?,
                    name,
                });
            }
            _ => return Err(unsupported_element(path, e)),
        }
    }
    Ok(cpu)
}

fn parse_clock(c: &Node, path: &str) -> Result<Clock> {
    check_attrs(c, path, &["offset", "sync"])?;
    let table = [
        ("utc", ClockOffset::Utc),
        ("localtime", ClockOffset::Localtime),
    ];
    if let Some(o) = c.attr("offset") {
        check_supported(
            c,
            path,
            "offset",
            o,
            &["utc", "localtime"],
            &["timezone", "variable", "absolute"],
        )?;
    }
    let offset = enum_attr(c, path, "offset", &table)?;
    // libvirt 0.7's `sync` attribute: same values, same meaning.
    let sync = enum_attr(c, path, "sync", &table)?;
    if let (Some(o), Some(s)) = (offset, sync) {
        if o != s {
            return Err(Error::xml(format!(
                "XML error: <clock> has both offset='{}' and sync='{}' (at {path}, line {}): use offset alone",
                c.attr("offset").unwrap_or_default(),
                c.attr("sync").unwrap_or_default(),
                c.line
            )));
        }
    }
    let mut clock = Clock {
        offset: offset.or(sync).unwrap_or(ClockOffset::Utc),
        timers: Vec::new(),
    };
    for e in &c.children {
        let p = child_path(path, e);
        match e.name.as_str() {
            "timer" if is_plain(e) => {
                leaf(e, &p, &["name", "tickpolicy", "present"])?;
                req_attr(e, &p, "name")?;
                clock.timers.push(Timer {
                    name: string_enum_attr(
                        e,
                        &p,
                        "name",
                        &[
                            "platform",
                            "pit",
                            "rtc",
                            "hpet",
                            "tsc",
                            "kvmclock",
                            "hypervclock",
                            "armvtimer",
                        ],
                    )?
                    .unwrap_or_default(),
                    tickpolicy: string_enum_attr(
                        e,
                        &p,
                        "tickpolicy",
                        &["delay", "catchup", "merge", "discard"],
                    )?,
                    present: yes_no(e, &p, "present")?,
                });
            }
            _ => return Err(unsupported_element(path, e)),
        }
    }
    Ok(clock)
}

fn parse_lifecycle(c: &Node, path: &str, crash: bool) -> Result<LifecycleAction> {
    leaf(c, path, &[])?;
    let t = text(c);
    let mut table = vec![
        ("destroy", LifecycleAction::Destroy),
        ("restart", LifecycleAction::Restart),
        ("preserve", LifecycleAction::Preserve),
        ("rename-restart", LifecycleAction::RenameRestart),
    ];
    if crash {
        table.push(("coredump-destroy", LifecycleAction::CoredumpDestroy));
        table.push(("coredump-restart", LifecycleAction::CoredumpRestart));
    }
    table
        .iter()
        .find(|(n, _)| *n == t)
        .map(|(_, a)| *a)
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            Error::xml(format!(
                "XML error: invalid value '{t}' for <{}> (at {path}, line {}): expected {}",
                c.name,
                c.line,
                one_of(&names)
            ))
        })
}

/// `<seclabel>`: domain level (`domain_level`) or inside a disk's `<source>`.
pub(crate) fn parse_seclabel(c: &Node, path: &str, domain_level: bool) -> Result<SecLabel> {
    if domain_level {
        check_attrs(c, path, &["type", "model", "relabel"])?;
    } else {
        check_attrs(c, path, &["model", "relabel"])?;
    }
    let mut s = SecLabel {
        label_type: string_enum_attr(c, path, "type", &["dynamic", "static", "none"])?,
        model: opt_string(c, "model"),
        relabel: yes_no(c, path, "relabel")?,
        ..SecLabel::default()
    };
    for e in &c.children {
        let p = child_path(path, e);
        let slot = match e.name.as_str() {
            "label" if is_plain(e) => &mut s.label,
            "imagelabel" if is_plain(e) && domain_level => &mut s.imagelabel,
            "baselabel" if is_plain(e) && domain_level => &mut s.baselabel,
            _ => return Err(unsupported_element(path, e)),
        };
        leaf(e, &p, &[])?;
        set_once(slot, req_text(e, &p)?, path, e)?;
    }
    Ok(s)
}

fn parse_qemu(dom: &mut Domain, c: &Node, path: &str) -> Result<()> {
    check_attrs(c, path, &[])?;
    match c.name.as_str() {
        "commandline" => {
            let mut cl = QemuCommandline::default();
            for e in &c.children {
                let p = child_path(path, e);
                match (e.ns == Ns::Qemu, e.name.as_str()) {
                    (true, "arg") => {
                        leaf(e, &p, &["value"])?;
                        let v = e
                            .attr("value")
                            .ok_or_else(|| missing_attr(e, &p, "value"))?;
                        cl.args.push(v.to_owned());
                    }
                    (true, "env") => {
                        leaf(e, &p, &["name", "value"])?;
                        let name = req_attr(e, &p, "name")?;
                        let valid = name
                            .chars()
                            .next()
                            .is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_')
                            && name
                                .chars()
                                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
                        if !valid {
                            return Err(bad_value(
                                e,
                                &p,
                                "name",
                                name,
                                "an environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
                            ));
                        }
                        cl.env.push((name.to_owned(), opt_string(e, "value")));
                    }
                    _ => return Err(unsupported_element(path, e)),
                }
            }
            dom.qemu_commandline = Some(cl);
        }
        "capabilities" => {
            let mut caps = QemuCapabilities::default();
            for e in &c.children {
                let p = child_path(path, e);
                let list = match (e.ns == Ns::Qemu, e.name.as_str()) {
                    (true, "add") => &mut caps.add,
                    (true, "del") => &mut caps.del,
                    _ => return Err(unsupported_element(path, e)),
                };
                leaf(e, &p, &["capability"])?;
                list.push(req_attr(e, &p, "capability")?.to_owned());
            }
            dom.qemu_capabilities = Some(caps);
        }
        _ => return Err(unsupported_element(P, c)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_follow_libvirt() {
        assert_eq!(unit_scale("KB"), Some(1000));
        assert_eq!(unit_scale("k"), Some(1024));
        assert_eq!(unit_scale("KiB"), Some(1024));
        assert_eq!(unit_scale("MB"), Some(1_000_000));
        assert_eq!(unit_scale("M"), Some(1 << 20));
        assert_eq!(unit_scale("GiB"), Some(1 << 30));
        assert_eq!(unit_scale("TB"), Some(1_000_000_000_000));
        assert_eq!(unit_scale("T"), Some(1 << 40));
        assert_eq!(unit_scale("bytes"), Some(1));
        assert_eq!(unit_scale("x"), None);
    }
}
