//! The guest's screen and sound: `<graphics>`, `<video>`, `<audio>`, `<sound>`.
//!
//! - no `<graphics>` → `-display none` (early, where libvirt puts it);
//! - `<audio>` → `-audiodev` (type `none` only; one is always there, as libvirt 9 adds
//!   `<audio type='none'>` when absent), which VNC and the sound cards use;
//! - `<graphics type='vnc'>` → `-vnc HOST:DISPLAY[,to=..][,password=on],audiodev=..` and
//!   `-k`; other types are refused;
//! - `<video>` → the display device (`cirrus` when there is graphics but no video);
//! - `<sound model='ich9|ich6|ac97'>` with `<codec>`s → `ich9-intel-hda` / `intel-hda` +
//!   `hda-*` codecs, or `AC97`, all on the audio backend.

use crate::argv::plan::Plan;
use crate::argv::props::{kv_escape, Args, Props};
use oxvirt_core::domain::{Domain, Graphics, Video};
use oxvirt_core::{Error, Result};
use std::net::IpAddr;

/// `-display none` when there is no `<graphics>`.
pub(crate) fn display(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    if p.dom.devices.graphics.is_empty() {
        a.opt("-display", "none");
    }
    Ok(())
}

/// The id of the one audio backend: `audio{id}` of `<audio>`, else `audio1`.
fn audiodev_id(dom: &Domain) -> String {
    format!(
        "audio{}",
        dom.devices.audios.first().map(|a| a.id).unwrap_or(1)
    )
}

/// One `<audio>` backend at most, of type `none`.
pub(crate) fn check_audio(dom: &Domain) -> Result<()> {
    let audios = &dom.devices.audios;
    if let Some(au) = audios.iter().find(|au| au.audio_type != "none") {
        return Err(Error::unsupported(format!(
            "<audio id='{}' type='{}'> is not supported by oxvirt at start yet; use type='none'",
            au.id, au.audio_type
        )));
    }
    if audios.len() > 1 {
        return Err(Error::unsupported(
            "only one <audio> backend per domain is supported",
        ));
    }
    Ok(())
}

/// `-audiodev` (libvirt's `qemuBuildAudioCommandLine`).
pub(crate) fn audio(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    a.json(
        "-audiodev",
        &Props::new()
            .with("id", audiodev_id(p.dom))
            .with("driver", "none"),
    );
    Ok(())
}

/// `-vnc` and `-k` (libvirt's `qemuBuildGraphicsCommandLine`).
pub(crate) fn graphics(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    let gs = &p.dom.devices.graphics;
    if let Some(g) = gs.iter().find(|g| g.graphics_type != "vnc") {
        return Err(Error::unsupported(format!(
            "<graphics type='{}'> is not supported; use type='vnc'",
            g.graphics_type
        )));
    }
    if gs.len() > 1 {
        return Err(Error::unsupported(
            "only one <graphics type='vnc'> per domain is supported",
        ));
    }
    let Some(g) = gs.first() else { return Ok(()) };
    let mut v = vnc_address(p, g)?;
    if g.passwd.is_some() {
        // The password itself is set over QMP (set_password) after start.
        v.push_str(",password=on");
    }
    v.push_str(&format!(",audiodev={}", audiodev_id(p.dom)));
    a.opt("-vnc", v);
    if let Some(k) = &g.keymap {
        a.opt("-k", kv_escape(k));
    }
    Ok(())
}

/// `HOST:DISPLAY` (with `,to=59635` for an automatic port at start).
fn vnc_address(p: &Plan<'_>, g: &Graphics) -> Result<String> {
    let listen = g.listen.as_deref().unwrap_or(p.ctx.vnc_listen);
    let ip: IpAddr = listen.parse().map_err(|_| {
        Error::xml(format!(
            "<graphics type='vnc' listen='{listen}'>: not an IP address"
        ))
    })?;
    let auto = g.autoport == Some(true) || matches!(g.port, None | Some(-1));
    // Automatic: QEMU takes the first free display from 0 on (`to=`), atomically — no
    // window between choosing a port and binding it. The supervisor reads the port
    // back (`query-vnc`) into the live XML.
    let port: u16 = match g.port {
        _ if auto => 5900,
        Some(port) if (5900..=65535).contains(&port) => port as u16,
        Some(port) => {
            return Err(Error::xml(format!(
            "<graphics type='vnc' port='{port}'>: the port must be -1 (automatic) or 5900..65535"
        )))
        }
        None => unreachable!("None is automatic"),
    };
    let host = match ip {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    };
    let mut v = format!("{host}:{}", port - 5900);
    if auto && !p.ctx.for_native_export {
        v.push_str(",to=59635");
    }
    Ok(v)
}

/// The display devices (libvirt's `qemuBuildVideoCommandLine`).
pub(crate) fn video(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    let d = &p.dom.devices;
    let implicit = [Video {
        model: "cirrus".into(),
        ..Video::default()
    }];
    let videos: &[Video] = match (d.videos.is_empty(), d.graphics.is_empty()) {
        (true, true) => return Ok(()),
        (true, false) => &implicit,
        (false, _) => &d.videos,
    };
    for (i, v) in videos.iter().enumerate() {
        let primary = i == 0;
        let driver = match (v.model.as_str(), primary) {
            ("none", _) => continue,
            ("vga", true) => "VGA",
            ("cirrus", true) => "cirrus-vga",
            ("qxl", true) => "qxl-vga",
            ("qxl", false) => "qxl",
            ("virtio", true) => "virtio-vga",
            ("virtio", false) => "virtio-gpu-pci",
            ("bochs", _) => "bochs-display",
            ("ramfb", true) => "ramfb",
            (m, _) => {
                return Err(Error::unsupported(format!(
                    "<video><model type='{m}'> is not supported{}; use vga, cirrus, qxl, virtio or bochs",
                    if primary { "" } else { " as a secondary video device" }
                )))
            }
        };
        let mut dev = Props::new()
            .with("driver", driver)
            .with("id", format!("video{i}"));
        match v.model.as_str() {
            "virtio" => dev = dev.with("max_outputs", v.heads.unwrap_or(1)),
            "qxl" => dev = qxl_props(dev, v, primary),
            "vga" | "bochs" => {
                dev = dev.with_opt("vgamem_mb", v.vram.map(|kib| (kib / 1024) as i64))
            }
            _ => {}
        }
        a.json("-device", &dev);
    }
    Ok(())
}

/// `qxl`/`qxl-vga` sizes from `<model ram= vram= vgamem= heads=>` (KiB), as libvirt
/// spells them; absent sizes are QEMU's defaults, which equal libvirt's.
fn qxl_props(p: Props, v: &Video, primary: bool) -> Props {
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

/// The sound cards and their codecs (libvirt's `qemuBuildSoundCommandLine`).
pub(crate) fn sound(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    let audiodev = audiodev_id(p.dom);
    for (i, s) in p.dom.devices.sounds.iter().enumerate() {
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
