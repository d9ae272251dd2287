//! `domxml-from-native qemu-argv`: a QEMU command line (one line: environment
//! variables, the binary, the arguments, shell-quoted) → a domain model, for the
//! common options libvirt 0.7 understood. Every argument that is not understood is kept
//! in `<qemu:commandline>` (with a warning), so nothing is lost.
//!
//! The other direction (`domxml-to-native`) is [`crate::argv::build_with_caps`].

use oxvirt_core::domain::{
    BootDev, Chardev, ChardevSource, Clock, ClockOffset, Disk, DiskBus, DiskDevice, DiskType,
    Domain, Graphics, Interface, InterfaceType, LifecycleAction, QemuCommandline, UnixMode,
    VirtType,
};
use oxvirt_core::{Error, Result};

/// Split a shell line into words: blanks separate, `'...'` is literal, `"..."` keeps
/// `\"`, `\\`, `\$` and `` \` `` escapes, a backslash outside quotes escapes the next
/// character and a backslash-newline joins lines.
pub fn shell_split(line: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(n) => {
                    cur.push(n);
                    in_word = true;
                }
                None => {}
            },
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => {
                            return Err(Error::invalid_arg(
                                "unterminated ' quote in the QEMU command line",
                            ))
                        }
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n @ ('"' | '\\' | '$' | '`')) => cur.push(n),
                            Some('\n') => {}
                            Some(n) => {
                                cur.push('\\');
                                cur.push(n);
                            }
                            None => {
                                return Err(Error::invalid_arg(
                                    "unterminated \" quote in the QEMU command line",
                                ))
                            }
                        },
                        Some(x) => cur.push(x),
                        None => {
                            return Err(Error::invalid_arg(
                                "unterminated \" quote in the QEMU command line",
                            ))
                        }
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Environment variables every QEMU launcher sets; not kept as `<qemu:env>`.
const STANDARD_ENV: &[&str] = &[
    "LC_ALL",
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "QEMU_AUDIO_DRV",
];

/// Options that take a value (so an unknown one keeps its value with it).
const TAKES_VALUE: &[&str] = &[
    "-M",
    "-machine",
    "-m",
    "-smp",
    "-name",
    "-uuid",
    "-boot",
    "-hda",
    "-hdb",
    "-hdc",
    "-hdd",
    "-cdrom",
    "-fda",
    "-fdb",
    "-drive",
    "-kernel",
    "-initrd",
    "-append",
    "-net",
    "-netdev",
    "-vnc",
    "-serial",
    "-parallel",
    "-monitor",
    "-rtc",
    "-cpu",
    "-accel",
    "-device",
    "-chardev",
    "-mon",
    "-qmp",
    "-object",
    "-blockdev",
    "-display",
    "-vga",
    "-bios",
    "-k",
    "-audiodev",
    "-global",
    "-overcommit",
    "-msg",
    "-sandbox",
    "-pidfile",
    "-D",
    "-d",
    "-L",
    "-smbios",
    "-numa",
    "-incoming",
    "-usbdevice",
    "-soundhw",
    "-watchdog",
    "-watchdog-action",
    "-action",
    "-add-fd",
    "-fsdev",
    "-virtfs",
    "-icount",
    "-mem-path",
    "-tpmdev",
    "-trace",
];

/// Parse `key=value,key=value` (first bare item returned as the "" key).
fn kv(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    // `,,` is a literal comma.
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == ',' {
            if it.peek() == Some(&',') {
                it.next();
                cur.push(',');
            } else {
                items.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    items.push(cur);
    for (i, item) in items.into_iter().enumerate() {
        match item.split_once('=') {
            Some((k, v)) => out.push((k.to_string(), v.to_string())),
            None if i == 0 => out.push((String::new(), item)),
            None => out.push((item, "on".to_string())),
        }
    }
    out
}

fn get<'a>(kvs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    kvs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `214`, `214M`, `1G`, `524288k` → KiB (a bare number is MiB, as for `-m`).
fn mem_kib(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, mult) = match v.chars().last()? {
        'k' | 'K' => (&v[..v.len() - 1], 1),
        'm' | 'M' => (&v[..v.len() - 1], 1024),
        'g' | 'G' => (&v[..v.len() - 1], 1024 * 1024),
        't' | 'T' => (&v[..v.len() - 1], 1024 * 1024 * 1024),
        _ => (v, 1024),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

fn disk_for(path: &str, target: String, bus: DiskBus, device: DiskDevice) -> Disk {
    Disk {
        disk_type: if path.starts_with("/dev/") {
            DiskType::Block
        } else {
            DiskType::File
        },
        device,
        source: (!path.is_empty()).then(|| path.to_string()),
        target_dev: target,
        target_bus: Some(bus),
        readonly: device == DiskDevice::Cdrom,
        ..Disk::default()
    }
}

fn target_name(bus: DiskBus, index: u32) -> String {
    let prefix = match bus {
        DiskBus::Ide => "hd",
        DiskBus::Virtio => "vd",
        DiskBus::Fdc => "fd",
        _ => "sd",
    };
    format!("{prefix}{}", (b'a' + index.min(25) as u8) as char)
}

fn chardev_of(v: &str) -> Option<Option<ChardevSource>> {
    Some(Some(match v {
        "none" => return Some(None),
        "pty" => ChardevSource::Pty,
        "null" => ChardevSource::Null,
        "stdio" => ChardevSource::Stdio,
        _ => {
            if let Some(p) = v.strip_prefix("file:") {
                ChardevSource::File {
                    path: p.to_string(),
                    append: None,
                }
            } else if let Some(rest) = v.strip_prefix("unix:") {
                let kvs = kv(rest);
                let path = get(&kvs, "")?.to_string();
                let server = kvs.iter().any(|(k, v)| k == "server" && v != "off");
                ChardevSource::Unix {
                    path,
                    mode: if server {
                        UnixMode::Bind
                    } else {
                        UnixMode::Connect
                    },
                }
            } else {
                return None;
            }
        }
    }))
}

/// Convert one native line. The second value lists warnings (arguments kept as
/// `<qemu:commandline>`).
pub fn from_argv_line(line: &str) -> Result<(Domain, Vec<String>)> {
    let words = shell_split(line)?;
    let mut i = 0;
    let mut dom = Domain::default();
    let mut extra = QemuCommandline::default();
    let mut warnings = Vec::new();
    while i < words.len() {
        let w = &words[i];
        match w.split_once('=') {
            Some((k, v))
                if !k.is_empty()
                    && !w.starts_with('-')
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                if !STANDARD_ENV.contains(&k) {
                    extra.env.push((k.to_string(), Some(v.to_string())));
                }
                i += 1;
            }
            _ => break,
        }
    }
    let Some(binary) = words.get(i) else {
        return Err(Error::invalid_arg(
            "invalid argument: no QEMU binary in the native config; give one line: ENV=VAL ... /usr/bin/qemu-system-x86_64 ARGS",
        ));
    };
    i += 1;
    let base = binary.rsplit('/').next().unwrap_or(binary);
    let arch = match base {
        "qemu" | "qemu-system-i386" => "i686",
        "qemu-kvm" | "kvm" | "qemu-system-x86_64" => "x86_64",
        b => b.strip_prefix("qemu-system-").unwrap_or("i686"),
    };
    if base == "qemu-kvm" || base == "kvm" {
        dom.virt_type = VirtType::Kvm;
    }
    dom.os.os_type = "hvm".into();
    dom.os.arch = Some(arch.to_string());
    dom.devices.emulator = Some(binary.clone());
    dom.features.acpi = true;
    dom.vcpu.count = 1;
    dom.memory_kib = 128 * 1024;
    dom.clock = Some(Clock {
        offset: ClockOffset::Utc,
        timers: Vec::new(),
    });
    dom.on_poweroff = Some(LifecycleAction::Destroy);
    dom.on_reboot = Some(LifecycleAction::Restart);
    dom.on_crash = Some(LifecycleAction::Destroy);
    let mut nic_models: Vec<(Option<String>, Option<String>)> = Vec::new();
    let mut has_user_net = false;
    let mut boot_set = false;

    while i < words.len() {
        let opt = words[i].as_str();
        // QEMU accepts `--opt` as `-opt`.
        let opt_norm = if opt.starts_with("--") {
            &opt[1..]
        } else {
            opt
        };
        let takes = TAKES_VALUE.contains(&opt_norm);
        let val = if takes {
            words.get(i + 1).map(String::as_str)
        } else {
            None
        };
        if takes && val.is_none() {
            return Err(Error::invalid_arg(format!(
                "invalid argument: option '{opt}' needs a value"
            )));
        }
        let v = val.unwrap_or_default();
        let mut understood = true;
        match opt_norm {
            "-S" | "-usb" | "-no-user-config" | "-nodefaults" | "-no-shutdown" | "-daemonize"
            | "-no-kqemu" | "-no-hpet" => {}
            "-monitor" | "-qmp" | "-pidfile" | "-parallel" | "-msg" | "-overcommit"
            | "-sandbox" | "-display"
                if opt_norm != "-display" || v == "none" => {}
            "-nographic" => {}
            "-enable-kvm" => dom.virt_type = VirtType::Kvm,
            "-accel" => match get(&kv(v), "") {
                Some("kvm") => dom.virt_type = VirtType::Kvm,
                Some("tcg") => dom.virt_type = VirtType::Qemu,
                _ => understood = false,
            },
            "-M" | "-machine" => {
                let kvs = kv(v);
                let name = get(&kvs, "type").or_else(|| get(&kvs, "")).unwrap_or("pc");
                dom.os.machine = Some(name.to_string());
                for (k, val) in &kvs {
                    match k.as_str() {
                        "" | "type" | "usb" | "dump-guest-core" => {}
                        "accel" if val.starts_with("kvm") => dom.virt_type = VirtType::Kvm,
                        "accel" => {}
                        "acpi" => dom.features.acpi = val != "off",
                        _ => {
                            warnings
                                .push(format!("-machine property '{k}={val}' is not converted"));
                        }
                    }
                }
            }
            "-m" => {
                let kvs = kv(v);
                let size = get(&kvs, "size").or_else(|| get(&kvs, "")).unwrap_or(v);
                dom.memory_kib = mem_kib(size).ok_or_else(|| {
                    Error::invalid_arg(format!(
                        "invalid argument: cannot parse memory size '-m {v}'"
                    ))
                })?;
                dom.current_memory_kib = Some(dom.memory_kib);
            }
            "-smp" => {
                let kvs = kv(v);
                let parse = |s: Option<&str>| s.and_then(|x| x.parse::<u32>().ok());
                let cpus = parse(get(&kvs, "cpus").or_else(|| get(&kvs, "")));
                let max = parse(get(&kvs, "maxcpus"));
                match (cpus, max) {
                    (Some(c), Some(m)) if m > c => {
                        dom.vcpu.count = m;
                        dom.vcpu.current = Some(c);
                    }
                    (Some(c), _) => dom.vcpu.count = c,
                    (None, Some(m)) => dom.vcpu.count = m,
                    (None, None) => {
                        return Err(Error::invalid_arg(format!(
                            "invalid argument: cannot parse '-smp {v}'"
                        )))
                    }
                }
            }
            "-name" => {
                let kvs = kv(v);
                dom.name = get(&kvs, "guest")
                    .or_else(|| get(&kvs, ""))
                    .unwrap_or(v)
                    .to_string();
            }
            "-uuid" => {
                dom.uuid = uuid::Uuid::parse_str(v).map_err(|e| {
                    Error::invalid_arg(format!("invalid argument: bad -uuid '{v}': {e}"))
                })?;
            }
            "-boot" => {
                let kvs = kv(v);
                let order = get(&kvs, "order").or_else(|| get(&kvs, ""));
                if let Some(o) = order {
                    for c in o.chars() {
                        dom.os.boot.push(match c {
                            'a' | 'b' => BootDev::Fd,
                            'c' => BootDev::Hd,
                            'd' => BootDev::Cdrom,
                            'n' => BootDev::Network,
                            _ => continue,
                        });
                    }
                    boot_set = true;
                }
                if let Some(m) = get(&kvs, "menu") {
                    dom.os.bootmenu = Some(m == "on");
                }
            }
            "-hda" | "-hdb" | "-hdc" | "-hdd" => {
                let idx = u32::from(opt_norm.as_bytes()[3] - b'a');
                dom.devices.disks.push(disk_for(
                    v,
                    target_name(DiskBus::Ide, idx),
                    DiskBus::Ide,
                    DiskDevice::Disk,
                ));
            }
            "-cdrom" => {
                dom.devices
                    .disks
                    .push(disk_for(v, "hdc".into(), DiskBus::Ide, DiskDevice::Cdrom));
            }
            "-drive" => {
                let kvs = kv(v);
                let bus = match get(&kvs, "if").unwrap_or("ide") {
                    "ide" => Some(DiskBus::Ide),
                    "scsi" => Some(DiskBus::Scsi),
                    "virtio" => Some(DiskBus::Virtio),
                    "floppy" => Some(DiskBus::Fdc),
                    _ => None,
                };
                match bus {
                    Some(bus) => {
                        let same_bus = dom
                            .devices
                            .disks
                            .iter()
                            .filter(|d| d.target_bus == Some(bus))
                            .count() as u32;
                        let idx = get(&kvs, "index")
                            .and_then(|x| x.parse().ok())
                            .unwrap_or(same_bus);
                        let device = match get(&kvs, "media") {
                            Some("cdrom") => DiskDevice::Cdrom,
                            _ if bus == DiskBus::Fdc => DiskDevice::Floppy,
                            _ => DiskDevice::Disk,
                        };
                        let mut d = disk_for(
                            get(&kvs, "file").unwrap_or(""),
                            target_name(bus, idx),
                            bus,
                            device,
                        );
                        d.driver_type = get(&kvs, "format").map(str::to_string);
                        if d.driver_type.is_some() {
                            d.driver_name = Some("qemu".into());
                        }
                        d.driver_cache = get(&kvs, "cache").map(str::to_string);
                        if matches!(get(&kvs, "readonly"), Some("on" | "yes" | "true")) {
                            d.readonly = true;
                        }
                        if get(&kvs, "boot") == Some("on") && !boot_set {
                            d.boot_order = None;
                        }
                        dom.devices.disks.push(d);
                    }
                    None => understood = false,
                }
            }
            "-kernel" => dom.os.kernel = Some(v.to_string()),
            "-initrd" => dom.os.initrd = Some(v.to_string()),
            "-append" => dom.os.cmdline = Some(v.to_string()),
            "-net" => {
                let kvs = kv(v);
                match get(&kvs, "") {
                    Some("none") => {}
                    Some("nic") => nic_models.push((
                        get(&kvs, "model").map(str::to_string),
                        get(&kvs, "macaddr").map(str::to_string),
                    )),
                    Some("user") => has_user_net = true,
                    _ => understood = false,
                }
            }
            "-netdev" => {
                let kvs = kv(v);
                match get(&kvs, "").or_else(|| get(&kvs, "type")) {
                    Some("user") => {
                        has_user_net = true;
                    }
                    _ => understood = false,
                }
            }
            "-nic" => understood = false,
            "-vnc" => {
                let kvs = kv(v);
                let addr = get(&kvs, "").unwrap_or(v);
                let (host, disp) = addr.rsplit_once(':').unwrap_or(("", addr));
                match disp.parse::<i32>() {
                    Ok(n) => dom.devices.graphics.push(Graphics {
                        graphics_type: "vnc".into(),
                        port: Some(5900 + n),
                        autoport: Some(false),
                        listen: (!host.is_empty()).then(|| host.to_string()),
                        ..Graphics::default()
                    }),
                    Err(_) => understood = false,
                }
            }
            "-serial" => match chardev_of(v) {
                Some(None) => {}
                Some(Some(src)) => dom.devices.serials.push(Chardev {
                    source: src,
                    target_type: None,
                    target_port: Some(dom.devices.serials.len() as u32),
                    ..Chardev::default()
                }),
                None => understood = false,
            },
            "-no-acpi" => dom.features.acpi = false,
            "-no-reboot" => dom.on_reboot = Some(LifecycleAction::Destroy),
            "-rtc" => {
                let kvs = kv(v);
                match get(&kvs, "base") {
                    Some("localtime") => {
                        dom.clock = Some(Clock {
                            offset: ClockOffset::Localtime,
                            timers: Vec::new(),
                        })
                    }
                    Some("utc") | None => {}
                    Some(_) => understood = false,
                }
            }
            _ => understood = false,
        }
        let mut takes = takes;
        let mut v = v.to_string();
        if !understood {
            // An unknown option keeps the word after it when that is not an option.
            if !takes {
                if let Some(next) = words.get(i + 1).filter(|n| !n.starts_with('-')) {
                    takes = true;
                    v = next.clone();
                }
            }
            warnings.push(format!(
                "argument '{}' is not understood; kept as <qemu:commandline>",
                if takes {
                    format!("{opt} {v}")
                } else {
                    opt.to_string()
                }
            ));
            extra.args.push(opt.to_string());
            if takes {
                extra.args.push(v);
            }
        }
        i += if takes { 2 } else { 1 };
    }
    for (model, mac) in nic_models {
        dom.devices.interfaces.push(Interface {
            iface_type: InterfaceType::User,
            mac,
            model,
            boot_order: None,
            address: None,
        });
    }
    if has_user_net && dom.devices.interfaces.is_empty() {
        dom.devices.interfaces.push(Interface {
            iface_type: InterfaceType::User,
            mac: None,
            model: None,
            boot_order: None,
            address: None,
        });
    }
    if dom.os.boot.is_empty() && dom.os.kernel.is_none() {
        dom.os.boot.push(BootDev::Hd);
    }
    if dom.current_memory_kib.is_none() {
        dom.current_memory_kib = Some(dom.memory_kib);
    }
    if !extra.args.is_empty() || !extra.env.is_empty() {
        dom.qemu_commandline = Some(extra);
    }
    Ok((dom, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_quotes() {
        assert_eq!(
            shell_split("A='x y' /bin/q -a \"b c\" d\\ e \\\n -f").unwrap(),
            vec!["A=x y", "/bin/q", "-a", "b c", "d e", "-f"]
        );
        assert!(shell_split("'open").is_err());
    }

    #[test]
    fn unknown_is_kept() {
        let (d, w) =
            from_argv_line("FOO=bar /usr/bin/qemu-system-x86_64 -m 64 -frobnicate x -newflag")
                .unwrap();
        let cl = d.qemu_commandline.unwrap();
        assert_eq!(cl.args, vec!["-frobnicate", "x", "-newflag"]);
        assert_eq!(cl.env, vec![("FOO".to_string(), Some("bar".to_string()))]);
        assert_eq!(w.len(), 2);
        assert_eq!(d.memory_kib, 65536);
    }
}

#[cfg(test)]
mod no_panic {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any text, and any mix of the options the parser knows, gives a domain or an
        /// error — never a panic.
        #[test]
        fn arbitrary_lines_never_panic(line in "\\PC{0,200}") {
            let _ = from_argv_line(&line);
        }

        #[test]
        fn known_options_with_arbitrary_values_never_panic(
            words in proptest::collection::vec(
                prop_oneof![
                    Just("-m".to_string()), Just("-smp".to_string()), Just("-M".to_string()),
                    Just("-machine".to_string()), Just("-drive".to_string()), Just("-hda".to_string()),
                    Just("-cdrom".to_string()), Just("-boot".to_string()), Just("-net".to_string()),
                    Just("-netdev".to_string()), Just("-vnc".to_string()), Just("-serial".to_string()),
                    Just("-uuid".to_string()), Just("-name".to_string()), Just("-rtc".to_string()),
                    "[a-z0-9=,:./'\" -]{0,24}",
                ],
                0..16,
            )
        ) {
            let line = format!("LC_ALL=C /usr/bin/qemu-system-x86_64 {}", words.join(" "));
            let _ = from_argv_line(&line);
        }
    }
}
