//! `<os>`: type, loader, nvram, kernel/initrd/cmdline, boot order, boot menu.

use super::writer::{yes_no, W};
use crate::domain::model::Domain;

pub(super) fn format_os(w: &mut W, dom: &Domain) {
    let os = &dom.os;
    w.open("os", &[]);
    w.text_el(
        "type",
        &[("arch", os.arch.clone()), ("machine", os.machine.clone())],
        &os.os_type,
    );
    if let Some(l) = &os.loader {
        w.text_el(
            "loader",
            &[
                ("readonly", os.loader_readonly.map(yes_no)),
                ("type", os.loader_type.clone()),
            ],
            l,
        );
    }
    if let Some(nv) = &os.nvram {
        let attrs = [("template", nv.template.clone())];
        match &nv.path {
            Some(p) => w.text_el("nvram", &attrs, p),
            None => w.empty("nvram", &attrs),
        }
    }
    for (name, v) in [
        ("kernel", &os.kernel),
        ("initrd", &os.initrd),
        ("cmdline", &os.cmdline),
    ] {
        if let Some(v) = v {
            w.text_el(name, &[], v);
        }
    }
    for b in &os.boot {
        w.empty("boot", &[("dev", Some(b.as_str().to_owned()))]);
    }
    if let Some(m) = os.bootmenu {
        w.empty("bootmenu", &[("enable", Some(yes_no(m)))]);
    }
    w.close("os");
}
