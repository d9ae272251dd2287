//! The `graphics` family: `<graphics>`, `<sound>`, `<audio>`, `<video>`.

use super::common::format_address;
use crate::domain::format::writer::{num, yes_no, W};
use crate::domain::model::{Devices, Graphics};

pub(super) fn format_graphics(w: &mut W, d: &Devices) {
    for g in &d.graphics {
        format_one_graphics(w, g);
    }
}

fn format_one_graphics(w: &mut W, g: &Graphics) {
    let attrs = [
        ("type", Some(g.graphics_type.clone())),
        ("port", num(g.port)),
        ("tlsPort", num(g.tls_port)),
        ("autoport", g.autoport.map(yes_no)),
        ("listen", g.listen.clone()),
        ("keymap", g.keymap.clone()),
        ("passwd", g.passwd.clone()),
    ];
    let empty = g.listen.is_none() && g.image_compression.is_none();
    w.element("graphics", &attrs, empty, |w| {
        if let Some(l) = &g.listen {
            w.empty(
                "listen",
                &[
                    ("type", Some("address".to_owned())),
                    ("address", Some(l.clone())),
                ],
            );
        }
        if let Some(c) = &g.image_compression {
            w.empty("image", &[("compression", Some(c.clone()))]);
        }
    });
}

pub(super) fn format_sounds(w: &mut W, d: &Devices) {
    for s in &d.sounds {
        let attrs = [("model", Some(s.model.clone()))];
        let empty = s.codecs.is_empty() && s.address.is_none();
        w.element("sound", &attrs, empty, |w| {
            for c in &s.codecs {
                w.empty("codec", &[("type", Some(c.clone()))]);
            }
            format_address(w, &s.address);
        });
    }
}

pub(super) fn format_audios(w: &mut W, d: &Devices) {
    for a in &d.audios {
        w.empty(
            "audio",
            &[
                ("id", Some(a.id.to_string())),
                ("type", Some(a.audio_type.clone())),
            ],
        );
    }
}

pub(super) fn format_videos(w: &mut W, d: &Devices) {
    for v in &d.videos {
        w.open("video", &[]);
        w.empty(
            "model",
            &[
                ("type", Some(v.model.clone())),
                ("ram", num(v.ram)),
                ("vram", num(v.vram)),
                ("vgamem", num(v.vgamem)),
                ("heads", num(v.heads)),
                ("primary", v.primary.map(yes_no)),
            ],
        );
        format_address(w, &v.address);
        w.close("video");
    }
}
