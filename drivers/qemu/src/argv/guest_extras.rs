//! Command-line parts for what `virt-install` writes beyond the basics, and the
//! start-time refusals of what oxvirt parses (so define and dumpxml keep it) but
//! cannot run yet:
//!
//! - `<controller type='pci' model='pcie-root-port'>` on q35 → `-device
//!   pcie-root-port` with libvirt's `port`/`chassis`/`id=pci.N`/`addr`. Other devices
//!   are *not* placed behind the ports (no `bus=pci.N`): QEMU puts them on `pcie.0`,
//!   and the ports are left free for hotplug;
//! - `<cpu><topology>` → `-smp`, `<cpu><feature>` → `-cpu MODEL,FEAT=on|off`;
//! - `<sound model='ich9|ich6|ac97'>` with `<codec>`s → `ich9-intel-hda` /
//!   `intel-hda` + `hda-*` codecs, or `AC97`, all on the `-audiodev` of `<audio>`
//!   (type `none`; the default when absent, as libvirt 9 does);
//! - refused at start: `<graphics type='spice'>` (in `devices::graphics`),
//!   `<audio type='spice'>`, `<redirdev>`, `<loader type='pflash'>`, `<nvram>`,
//!   `<controller><driver>`, PCI controller models other than the roots and
//!   `pcie-root-port`.
//!
//! Device `<address>`es are kept in the XML but not put on the command line: QEMU
//! assigns slots in argument order (see the module docs of `argv`).

use super::props::Props;
use super::{is_q35, Args};
use oxvirt_core::domain::{Domain, VirtType};
use oxvirt_core::{Error, Result};

/// What parses but cannot start yet; each error names the element.
pub(crate) fn check_unsupported(dom: &Domain) -> Result<()> {
    if dom.os.loader_type.as_deref() == Some("pflash") {
        return Err(Error::unsupported(
            "<loader type='pflash'> (UEFI firmware in flash) is not supported by oxvirt at start yet; use a ROM <loader> (e.g. SeaBIOS) or none",
        ));
    }
    if dom.os.nvram.is_some() {
        return Err(Error::unsupported(
            "<nvram> (UEFI variable store) is not supported by oxvirt at start yet",
        ));
    }
    for c in &dom.devices.controllers {
        if c.driver.is_some() {
            return Err(Error::unsupported(format!(
                "<controller type='{}'><driver> is not supported by oxvirt at start yet; remove <driver>",
                c.controller_type
            )));
        }
    }
    if let Some(r) = dom.devices.redirdevs.first() {
        return Err(Error::unsupported(format!(
            "<redirdev bus='{}' type='{}'> is not supported by oxvirt at start yet (it needs SPICE); remove it",
            r.bus, r.redir_type
        )));
    }
    for a in &dom.devices.audios {
        if a.audio_type != "none" {
            return Err(Error::unsupported(format!(
                "<audio id='{}' type='{}'> is not supported by oxvirt at start yet; use type='none'",
                a.id, a.audio_type
            )));
        }
    }
    if dom.devices.audios.len() > 1 {
        return Err(Error::unsupported(
            "only one <audio> backend per domain is supported",
        ));
    }
    Ok(())
}

/// The id of the one audio backend: `audio{id}` of `<audio>`, else `audio1`.
pub(crate) fn audiodev_id(dom: &Domain) -> String {
    format!(
        "audio{}",
        dom.devices.audios.first().map(|a| a.id).unwrap_or(1)
    )
}

/// `-audiodev`: always present (libvirt 9 adds `<audio type='none'>` when absent).
pub(crate) fn audiodev(dom: &Domain, a: &mut Args) {
    a.json(
        "-audiodev",
        &Props::new()
            .with("id", audiodev_id(dom))
            .with("driver", "none"),
    );
}

/// `-smp` with `<cpu><topology>` when given; `None` leaves it to the default form.
pub(crate) fn smp_with_topology(dom: &Domain) -> Result<Option<String>> {
    let Some(t) = dom.cpu.as_ref().and_then(|c| c.topology.as_ref()) else {
        return Ok(None);
    };
    let sockets = t.sockets.unwrap_or(1);
    let dies = t.dies.unwrap_or(1);
    let cores = t.cores.unwrap_or(1);
    let threads = t.threads.unwrap_or(1);
    let max = dom.vcpu.count;
    let product = u64::from(sockets) * u64::from(dies) * u64::from(cores) * u64::from(threads);
    if product != u64::from(max) {
        return Err(Error::xml(format!(
            "<cpu><topology sockets='{sockets}' dies='{dies}' cores='{cores}' threads='{threads}'> gives {product} vCPUs, but <vcpu> is {max}"
        )));
    }
    let mut s = match dom.vcpu.current {
        Some(cur) if cur < max => format!("{cur},maxcpus={max}"),
        _ => max.to_string(),
    };
    s.push_str(&format!(",sockets={sockets}"));
    if t.dies.is_some() {
        s.push_str(&format!(",dies={dies}"));
    }
    s.push_str(&format!(",cores={cores},threads={threads}"));
    Ok(Some(s))
}

/// `-cpu MODEL` plus `<cpu><feature>`s: force/require/optional → `on`,
/// disable/forbid → `off` (libvirt's mapping).
pub(crate) fn cpu_with_features(dom: &Domain, model: String) -> Result<String> {
    let Some(cpu) = &dom.cpu else {
        return Ok(model);
    };
    let mut s = model;
    for f in &cpu.features {
        if f.name.is_empty()
            || !f
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(Error::xml(format!(
                "<cpu><feature name='{}'>: not a CPU feature name",
                f.name
            )));
        }
        let on = match f.policy.as_deref().unwrap_or("require") {
            "force" | "require" | "optional" => "on",
            "disable" | "forbid" => "off",
            p => {
                return Err(Error::xml(format!(
                    "<cpu><feature policy='{p}'>: unknown policy"
                )))
            }
        };
        s.push_str(&format!(",{}={on}", f.name));
    }
    if dom.virt_type == VirtType::Qemu && s.contains("vmx=on") {
        return Err(Error::unsupported(
            "<cpu><feature name='vmx'> cannot be enabled under TCG (<domain type='qemu'>)",
        ));
    }
    Ok(s)
}

/// `pcie-root-port`s, before every other device so their fixed slots are free.
pub(crate) fn pci_controllers(dom: &Domain, a: &mut Args) -> Result<()> {
    let q35 = is_q35(dom);
    // virt-install leaves `index` out: libvirt numbers PCI controllers in order.
    let mut next = 0u32;
    // index, chassis, port, (slot, function) — each as given in the XML.
    type Given = (u32, Option<u32>, Option<u32>, Option<(u32, u32)>);
    let mut ports: Vec<Given> = Vec::new();
    for c in dom
        .devices
        .controllers
        .iter()
        .filter(|c| c.controller_type == "pci")
    {
        let index = c.index.unwrap_or(next);
        next = next.max(index + 1);
        let model = c.model.as_deref().unwrap_or(if q35 {
            if index == 0 {
                "pcie-root"
            } else {
                "pcie-root-port"
            }
        } else if index == 0 {
            "pci-root"
        } else {
            "pci-bridge"
        });
        match (model, q35) {
            ("pcie-root", true) | ("pci-root", false) if index == 0 => continue,
            ("pcie-root-port", true) if index > 0 => {}
            _ => {
                return Err(Error::unsupported(format!(
                    "<controller type='pci' index='{index}' model='{model}'> is not supported on machine '{}'; only pcie-root-port controllers on q35",
                    dom.os.machine.as_deref().unwrap_or("pc")
                )))
            }
        }
        if let Some(n) = c.model_name.as_deref().filter(|n| *n != "pcie-root-port") {
            return Err(Error::unsupported(format!(
                "<controller type='pci' index='{index}'><model name='{n}'> is not supported; use pcie-root-port"
            )));
        }
        let target = c.target.as_ref();
        let port = match target.and_then(|t| t.port.as_deref()) {
            None => None,
            Some(p) => Some(parse_c_int(p).ok_or_else(|| {
                Error::xml(format!(
                    "<controller type='pci' index='{index}'><target port='{p}'>: not a number"
                ))
            })?),
        };
        let slot_fn = match &c.address {
            None => None,
            Some(addr) => Some(pci_slot_function(addr, index)?),
        };
        ports.push((index, target.and_then(|t| t.chassis), port, slot_fn));
    }
    // libvirt's automatic placement: slot 2 onwards, eight functions per slot.
    let mut auto = 0u32;
    let mut placed: Vec<(u32, u32, u32, u32)> = Vec::new(); // index, chassis, port, slot.fn
    for (index, chassis, port, slot_fn) in ports {
        let (slot, func) = slot_fn.unwrap_or_else(|| {
            let s = (2 + auto / 8, auto % 8);
            auto += 1;
            s
        });
        placed.push((
            index,
            chassis.unwrap_or(index),
            port.unwrap_or(0x10 + index - 1),
            slot * 8 + func,
        ));
    }
    for (i, &(index, chassis, port, sf)) in placed.iter().enumerate() {
        if placed[..i].iter().any(|p| p.3 == sf) {
            return Err(Error::xml(format!(
                "<controller type='pci' index='{index}'>: PCI address 0x{:x}.0x{:x} is used twice",
                sf / 8,
                sf % 8
            )));
        }
        let (slot, func) = (sf / 8, sf % 8);
        let multi = func == 0 && placed.iter().any(|p| p.3 / 8 == slot && p.3 % 8 != 0);
        let addr = if func == 0 {
            format!("0x{slot:x}")
        } else {
            format!("0x{slot:x}.0x{func:x}")
        };
        let mut p = Props::new()
            .with("driver", "pcie-root-port")
            .with("port", port)
            .with("chassis", chassis)
            .with("id", format!("pci.{index}"))
            .with("bus", "pcie.0");
        if multi {
            p = p.with("multifunction", true);
        }
        a.json("-device", &p.with("addr", addr));
    }
    Ok(())
}

fn parse_c_int(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `(slot, function)` of a root port's `<address type='pci' bus='0x00' ...>`.
fn pci_slot_function(addr: &oxvirt_core::domain::Address, index: u32) -> Result<(u32, u32)> {
    let get = |k: &str| {
        addr.attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    let bad = |what: &str| {
        Error::unsupported(format!(
            "<controller type='pci' index='{index}'><address {what}> is not supported; pcie-root-ports go on bus 0x00 of domain 0x0000"
        ))
    };
    if get("type") != Some("pci") {
        return Err(bad("type other than 'pci'"));
    }
    for k in ["domain", "bus"] {
        if get(k).map(|v| parse_c_int(v) != Some(0)).unwrap_or(false) {
            return Err(bad(&format!("{k}='{}'", get(k).unwrap_or_default())));
        }
    }
    let num = |k: &str| -> Result<u32> {
        match get(k) {
            None => Ok(0),
            Some(v) => parse_c_int(v).ok_or_else(|| bad(&format!("{k}='{v}'"))),
        }
    };
    let (slot, func) = (num("slot")?, num("function")?);
    if slot == 0 || slot > 31 || func > 7 {
        return Err(bad(&format!("slot='{slot}' function='{func}'")));
    }
    Ok((slot, func))
}

/// `<sound>` devices, on the audio backend (after the video devices, as libvirt).
pub(crate) fn sounds(dom: &Domain, a: &mut Args) -> Result<()> {
    let audiodev = audiodev_id(dom);
    for (i, s) in dom.devices.sounds.iter().enumerate() {
        let id = format!("sound{i}");
        let hda = match s.model.as_str() {
            "ich9" => "ich9-intel-hda",
            "ich6" => "intel-hda",
            "ac97" => {
                a.json(
                    "-device",
                    &Props::new()
                        .with("driver", "AC97")
                        .with("id", id.as_str())
                        .with("audiodev", audiodev.as_str()),
                );
                continue;
            }
            m => {
                return Err(Error::unsupported(format!(
                    "<sound model='{m}'> is not supported; use ich9, ich6 or ac97"
                )))
            }
        };
        a.json(
            "-device",
            &Props::new().with("driver", hda).with("id", id.as_str()),
        );
        let default = ["duplex".to_string()];
        let codecs: &[String] = if s.codecs.is_empty() {
            &default
        } else {
            &s.codecs
        };
        for (n, c) in codecs.iter().enumerate() {
            let driver = match c.as_str() {
                "duplex" => "hda-duplex",
                "micro" => "hda-micro",
                "output" => "hda-output",
                other => {
                    return Err(Error::unsupported(format!(
                    "<sound><codec type='{other}'> is not supported; use duplex, micro or output"
                )))
                }
            };
            a.json(
                "-device",
                &Props::new()
                    .with("driver", driver)
                    .with("id", format!("{id}-codec{n}"))
                    .with("bus", format!("{id}.0"))
                    .with("cad", n as u32)
                    .with("audiodev", audiodev.as_str()),
            );
        }
    }
    Ok(())
}

/// `qxl`/`qxl-vga` sizes from `<model ram= vram= vgamem= heads=>` (KiB), as libvirt
/// spells them; absent sizes are QEMU's defaults, which equal libvirt's.
pub(crate) fn qxl_props(p: Props, v: &oxvirt_core::domain::Video, primary: bool) -> Props {
    let bytes = |kib: Option<u64>| kib.map(|k| (k * 1024) as i64);
    let mut p = p
        .with("max_outputs", v.heads.unwrap_or(1))
        .with_opt("ram_size", bytes(v.ram))
        .with_opt("vram_size", bytes(v.vram));
    if primary && v.vram.is_some() {
        p = p.with("vram64_size_mb", 0i64);
    }
    p.with_opt("vgamem_mb", v.vgamem.map(|k| (k / 1024) as i64))
}

/// `<channel type='unix'><source mode='bind'/>` without a path (what virt-install
/// writes for the guest agent): libvirt picks a socket in a per-domain directory; so
/// does oxvirt, `DOMAIN_DIR/TARGET_NAME` (or `channelN`). `None` when nothing is missing.
pub(crate) fn with_channel_paths(dom: &Domain, domain_dir: &std::path::Path) -> Option<Domain> {
    use oxvirt_core::domain::{ChardevSource, UnixMode};
    let missing = |c: &oxvirt_core::domain::Chardev| matches!(&c.source, ChardevSource::Unix { path, mode: UnixMode::Bind } if path.is_empty());
    if !dom.devices.channels.iter().any(missing) {
        return None;
    }
    let mut d = dom.clone();
    for (i, c) in d.devices.channels.iter_mut().enumerate() {
        if missing(c) {
            let name = c
                .target_name
                .clone()
                .filter(|n| !n.is_empty() && !n.contains('/'))
                .unwrap_or_else(|| format!("channel{i}"));
            c.source = ChardevSource::Unix {
                path: domain_dir.join(name).to_string_lossy().into_owned(),
                mode: UnixMode::Bind,
            };
        }
    }
    Some(d)
}
