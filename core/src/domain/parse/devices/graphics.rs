//! The `graphics` family: `<graphics>` (vnc, spice), `<sound>`, `<audio>` and
//! `<video>`.

use super::common::{one_child_and_address, parse_address};
use crate::domain::model::{Audio, Devices, Graphics, Sound, Video};
use crate::domain::parse::util::{
    bad_value, check_attrs, first_time, leaf, num_attr, opt_string, plain_children, req_attr,
    req_supported, set_once, string_enum_attr, unsupported_element, yes_no,
};
use crate::domain::xmltree::Node;
use crate::error::{Error, Result};

pub(super) fn add_graphics(d: &mut Devices, e: &Node, path: &str, _parent: &str) -> Result<()> {
    d.graphics.push(parse_graphics(e, path)?);
    Ok(())
}

pub(super) fn add_sound(d: &mut Devices, e: &Node, path: &str, _parent: &str) -> Result<()> {
    d.sounds.push(parse_sound(e, path)?);
    Ok(())
}

/// `<audio id=N>`: each id once.
pub(super) fn add_audio(d: &mut Devices, e: &Node, path: &str, _parent: &str) -> Result<()> {
    let a = parse_audio(e, path)?;
    if d.audios.iter().any(|x| x.id == a.id) {
        return Err(Error::xml(format!(
            "XML error: <audio id='{}'> is given more than once (at {path}, line {})",
            a.id, e.line
        )));
    }
    d.audios.push(a);
    Ok(())
}

pub(super) fn add_video(d: &mut Devices, e: &Node, path: &str, _parent: &str) -> Result<()> {
    d.videos.push(parse_video(e, path)?);
    Ok(())
}

fn parse_graphics(c: &Node, path: &str) -> Result<Graphics> {
    let t = req_supported(
        c,
        path,
        "type",
        &["vnc", "spice"],
        &["sdl", "rdp", "desktop", "egl-headless", "dbus"],
    )?;
    let spice = t == "spice";
    let mut allowed = vec!["type", "port", "autoport", "listen", "keymap", "passwd"];
    if spice {
        allowed.push("tlsPort");
    }
    check_attrs(c, path, &allowed)?;
    let [port, tls_port] = ports(c, path)?;
    let mut g = Graphics {
        graphics_type: t.to_owned(),
        port,
        autoport: yes_no(c, path, "autoport")?,
        listen: opt_string(c, "listen"),
        keymap: opt_string(c, "keymap"),
        passwd: opt_string(c, "passwd"),
        tls_port,
        image_compression: None,
    };
    let mut listen_seen = false;
    for child in plain_children(c, path) {
        let (e, p) = child?;
        match e.name.as_str() {
            "listen" => parse_listen(&mut g, &mut listen_seen, e, &p, path)?,
            "image" if spice => {
                leaf(e, &p, &["compression"])?;
                req_attr(e, &p, "compression")?;
                let v = string_enum_attr(
                    e,
                    &p,
                    "compression",
                    &["auto_glz", "auto_lz", "quic", "glz", "lz", "off"],
                )?;
                set_once(&mut g.image_compression, v.unwrap_or_default(), path, e)?;
            }
            _ => return Err(unsupported_element(path, e)),
        }
    }
    Ok(g)
}

/// `port` and `tlsPort`: -1 (automatic) or a TCP port.
fn ports(c: &Node, path: &str) -> Result<[Option<i32>; 2]> {
    let mut ports = [None, None];
    for (slot, attr) in ports.iter_mut().zip(["port", "tlsPort"]) {
        *slot = num_attr::<i32>(c, path, attr)?;
        if let Some(p) = *slot {
            if !(-1..=65535).contains(&p) {
                return Err(bad_value(
                    c,
                    path,
                    attr,
                    &p.to_string(),
                    "-1 (automatic) or a TCP port",
                ));
            }
        }
    }
    Ok(ports)
}

/// `<listen type='address' address=..>`, which must agree with a `listen` attribute.
fn parse_listen(g: &mut Graphics, seen: &mut bool, e: &Node, p: &str, path: &str) -> Result<()> {
    leaf(e, p, &["type", "address"])?;
    req_supported(e, p, "type", &["address"], &["network", "socket", "none"])?;
    first_time(seen, path, e)?;
    if let Some(addr) = e.attr("address") {
        match &g.listen {
            Some(l) if l != addr => {
                return Err(Error::xml(format!(
                    "XML error: graphics 'listen' attribute '{l}' must match 'address' attribute of first listen element (found '{addr}') (at {p}, line {})",
                    e.line
                )))
            }
            _ => g.listen = Some(addr.to_owned()),
        }
    }
    Ok(())
}

fn parse_video(c: &Node, path: &str) -> Result<Video> {
    check_attrs(c, path, &[])?;
    let (mut video, address) =
        one_child_and_address(c, path, "model", "<model type=..>", parse_video_model)?;
    video.address = address;
    Ok(video)
}

/// `<model type= ram= vram= vgamem= heads= primary=>`.
fn parse_video_model(e: &Node, p: &str) -> Result<Video> {
    leaf(e, p, &["type", "ram", "vram", "vgamem", "heads", "primary"])?;
    req_attr(e, p, "type")?;
    let m = string_enum_attr(
        e,
        p,
        "type",
        &[
            "vga", "cirrus", "vmvga", "xen", "vbox", "qxl", "virtio", "gop", "bochs", "ramfb",
            "none",
        ],
    )?
    .unwrap_or_default();
    Ok(Video {
        model: m,
        ram: num_attr(e, p, "ram")?,
        vram: num_attr(e, p, "vram")?,
        vgamem: num_attr(e, p, "vgamem")?,
        heads: num_attr(e, p, "heads")?,
        primary: yes_no(e, p, "primary")?,
        address: None,
    })
}

fn parse_sound(c: &Node, path: &str) -> Result<Sound> {
    check_attrs(c, path, &["model"])?;
    let model = req_supported(
        c,
        path,
        "model",
        &["ich9", "ich6", "ac97"],
        &[
            "sb16",
            "es1370",
            "pcspk",
            "ich7",
            "usb",
            "ich9-ohci",
            "ics2000",
        ],
    )?;
    let mut s = Sound {
        model: model.to_owned(),
        ..Sound::default()
    };
    for child in plain_children(c, path) {
        let (e, p) = child?;
        match e.name.as_str() {
            "address" => set_once(&mut s.address, parse_address(e, &p)?, path, e)?,
            "codec" if model != "ac97" => {
                leaf(e, &p, &["type"])?;
                req_attr(e, &p, "type")?;
                let t = string_enum_attr(e, &p, "type", &["duplex", "micro", "output"])?;
                s.codecs.push(t.unwrap_or_default());
            }
            _ => return Err(unsupported_element(path, e)),
        }
    }
    Ok(s)
}

fn parse_audio(c: &Node, path: &str) -> Result<Audio> {
    leaf(c, path, &["id", "type"])?;
    req_attr(c, path, "id")?;
    let t = req_supported(
        c,
        path,
        "type",
        &["none", "spice"],
        &[
            "alsa",
            "coreaudio",
            "dbus",
            "jack",
            "oss",
            "pulseaudio",
            "sdl",
            "file",
            "pipewire",
        ],
    )?;
    let id: u32 = num_attr(c, path, "id")?.unwrap_or_default();
    if id == 0 {
        return Err(bad_value(c, path, "id", "0", "a positive integer"));
    }
    Ok(Audio {
        id,
        audio_type: t.to_owned(),
    })
}
