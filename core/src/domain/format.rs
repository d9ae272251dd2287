//! [`Domain`] → domain XML, in libvirt's style: two-space indentation, single-quoted
//! attributes, memory in KiB, the uuid always present, `id` only in live XML and the
//! `qemu:` namespace declared on the root only when QEMU namespace content exists.
//!
//! Owns: element order and escaping. What is `None` in the model is left out, so
//! `parse(format(d)) == d` for every parsed `d`.

use std::fmt::Write as _;

use super::model::*;
use super::xmltree::QEMU_NS;

/// What to include when formatting.
#[derive(Debug, Clone, Copy, Default)]
pub struct FormatOptions {
    /// Emit `id='N'` on the root (live XML of a running domain).
    pub live: bool,
}

/// Format a domain as libvirt does (indentation of two spaces, single quotes).
pub fn format_domain_xml(dom: &Domain, opts: FormatOptions) -> String {
    let mut w = W::default();
    let mut root = vec![("type", Some(dom.virt_type.as_str().to_owned()))];
    if opts.live {
        root.push(("id", dom.id.map(|i| i.to_string())));
    }
    let has_qemu = dom.qemu_commandline.is_some() || dom.qemu_capabilities.is_some();
    if has_qemu {
        root.push(("xmlns:qemu", Some(QEMU_NS.to_owned())));
    }
    w.open("domain", &root);
    w.text_el("name", &[], &dom.name);
    w.text_el("uuid", &[], &dom.uuid.hyphenated().to_string());
    if let Some(t) = &dom.title {
        w.text_el("title", &[], t);
    }
    if let Some(d) = &dom.description {
        w.text_el("description", &[], d);
    }
    if let Some(md) = &dom.metadata {
        if md.elements.is_empty() {
            w.empty("metadata", &[]);
        } else {
            w.open("metadata", &[]);
            for e in &md.elements {
                w.raw(e);
            }
            w.close("metadata");
        }
    }
    let kib = || Some("KiB".to_owned());
    w.text_el("memory", &[("unit", kib())], &dom.memory_kib.to_string());
    if let Some(c) = dom.current_memory_kib {
        w.text_el("currentMemory", &[("unit", kib())], &c.to_string());
    }
    w.text_el(
        "vcpu",
        &[
            ("placement", dom.vcpu.placement.clone()),
            ("current", dom.vcpu.current.map(|c| c.to_string())),
        ],
        &dom.vcpu.count.to_string(),
    );
    format_os(&mut w, &dom.os);
    let f = &dom.features;
    if f.acpi || f.apic || f.pae || f.vmport.is_some() {
        w.open("features", &[]);
        for (on, name) in [(f.acpi, "acpi"), (f.apic, "apic"), (f.pae, "pae")] {
            if on {
                w.empty(name, &[]);
            }
        }
        if let Some(v) = f.vmport {
            w.empty("vmport", &[("state", Some(on_off(v)))]);
        }
        w.close("features");
    }
    if let Some(cpu) = &dom.cpu {
        let attrs = [
            ("mode", cpu.mode.clone()),
            ("match", cpu.match_.clone()),
            ("check", cpu.check.clone()),
        ];
        if cpu.model.is_none() && cpu.topology.is_none() && cpu.features.is_empty() {
            w.empty("cpu", &attrs);
        } else {
            w.open("cpu", &attrs);
            if let Some(m) = &cpu.model {
                w.text_el("model", &[("fallback", cpu.model_fallback.clone())], m);
            }
            if let Some(t) = &cpu.topology {
                let n = |v: Option<u32>| v.map(|x| x.to_string());
                w.empty(
                    "topology",
                    &[
                        ("sockets", n(t.sockets)),
                        ("dies", n(t.dies)),
                        ("cores", n(t.cores)),
                        ("threads", n(t.threads)),
                    ],
                );
            }
            for f in &cpu.features {
                w.empty(
                    "feature",
                    &[("policy", f.policy.clone()), ("name", Some(f.name.clone()))],
                );
            }
            w.close("cpu");
        }
    }
    if let Some(clock) = &dom.clock {
        let offset = match clock.offset {
            ClockOffset::Utc => "utc",
            ClockOffset::Localtime => "localtime",
        };
        let attrs = [("offset", Some(offset.to_owned()))];
        if clock.timers.is_empty() {
            w.empty("clock", &attrs);
        } else {
            w.open("clock", &attrs);
            for t in &clock.timers {
                w.empty(
                    "timer",
                    &[
                        ("name", Some(t.name.clone())),
                        ("tickpolicy", t.tickpolicy.clone()),
                        ("present", t.present.map(yes_no)),
                    ],
                );
            }
            w.close("clock");
        }
    }
    for (name, action) in [
        ("on_poweroff", dom.on_poweroff),
        ("on_reboot", dom.on_reboot),
        ("on_crash", dom.on_crash),
    ] {
        if let Some(a) = action {
            w.text_el(name, &[], a.as_str());
        }
    }
    if let Some(pm) = &dom.pm {
        if pm.suspend_to_mem.is_none() && pm.suspend_to_disk.is_none() {
            w.empty("pm", &[]);
        } else {
            w.open("pm", &[]);
            for (name, v) in [
                ("suspend-to-mem", pm.suspend_to_mem),
                ("suspend-to-disk", pm.suspend_to_disk),
            ] {
                if let Some(v) = v {
                    w.empty(name, &[("enabled", Some(yes_no(v)))]);
                }
            }
            w.close("pm");
        }
    }
    format_devices(&mut w, &dom.devices);
    for s in &dom.seclabels {
        format_seclabel(&mut w, s, true);
    }
    if let Some(cl) = &dom.qemu_commandline {
        if cl.args.is_empty() && cl.env.is_empty() {
            w.empty("qemu:commandline", &[]);
        } else {
            w.open("qemu:commandline", &[]);
            for a in &cl.args {
                w.empty("qemu:arg", &[("value", Some(a.clone()))]);
            }
            for (n, v) in &cl.env {
                w.empty(
                    "qemu:env",
                    &[("name", Some(n.clone())), ("value", v.clone())],
                );
            }
            w.close("qemu:commandline");
        }
    }
    if let Some(caps) = &dom.qemu_capabilities {
        if caps.add.is_empty() && caps.del.is_empty() {
            w.empty("qemu:capabilities", &[]);
        } else {
            w.open("qemu:capabilities", &[]);
            for c in &caps.add {
                w.empty("qemu:add", &[("capability", Some(c.clone()))]);
            }
            for c in &caps.del {
                w.empty("qemu:del", &[("capability", Some(c.clone()))]);
            }
            w.close("qemu:capabilities");
        }
    }
    w.close("domain");
    w.out
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

fn on_off(b: bool) -> String {
    if b { "on" } else { "off" }.to_owned()
}

fn format_os(w: &mut W, os: &Os) {
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

fn format_seclabel(w: &mut W, s: &SecLabel, domain_level: bool) {
    let mut attrs = vec![];
    if domain_level {
        attrs.push(("type", s.label_type.clone()));
    }
    attrs.push(("model", s.model.clone()));
    attrs.push(("relabel", s.relabel.map(yes_no)));
    let kids = [
        ("label", &s.label),
        ("imagelabel", &s.imagelabel),
        ("baselabel", &s.baselabel),
    ];
    if kids.iter().all(|(_, v)| v.is_none()) {
        w.empty("seclabel", &attrs);
        return;
    }
    w.open("seclabel", &attrs);
    for (name, v) in kids {
        if let Some(v) = v {
            w.text_el(name, &[], v);
        }
    }
    w.close("seclabel");
}

fn format_address(w: &mut W, a: &Option<Address>) {
    if let Some(a) = a {
        let attrs: Vec<(&str, Option<String>)> = a
            .attrs
            .iter()
            .map(|(k, v)| (k.as_str(), Some(v.clone())))
            .collect();
        w.empty("address", &attrs);
    }
}

fn format_boot(w: &mut W, order: Option<u32>) {
    if let Some(o) = order {
        w.empty("boot", &[("order", Some(o.to_string()))]);
    }
}

fn format_devices(w: &mut W, d: &Devices) {
    w.open("devices", &[]);
    if let Some(e) = &d.emulator {
        w.text_el("emulator", &[], e);
    }
    for disk in &d.disks {
        format_disk(w, disk);
    }
    for c in &d.controllers {
        let attrs = [
            ("type", Some(c.controller_type.clone())),
            ("index", c.index.map(|i| i.to_string())),
            ("model", c.model.clone()),
            ("ports", c.ports.map(|p| p.to_string())),
        ];
        if c.address.is_none() && c.model_name.is_none() && c.target.is_none() && c.driver.is_none()
        {
            w.empty("controller", &attrs);
        } else {
            w.open("controller", &attrs);
            if let Some(n) = &c.model_name {
                w.empty("model", &[("name", Some(n.clone()))]);
            }
            if let Some(t) = &c.target {
                w.empty(
                    "target",
                    &[
                        ("chassis", t.chassis.map(|x| x.to_string())),
                        ("port", t.port.clone()),
                        ("busNr", t.bus_nr.map(|x| x.to_string())),
                        ("hotplug", t.hotplug.map(on_off)),
                    ],
                );
            }
            if let Some(d) = &c.driver {
                let attrs: Vec<(&str, Option<String>)> = d
                    .iter()
                    .map(|(k, v)| (k.as_str(), Some(v.clone())))
                    .collect();
                w.empty("driver", &attrs);
            }
            format_address(w, &c.address);
            w.close("controller");
        }
    }
    for i in &d.interfaces {
        format_interface(w, i);
    }
    for s in &d.serials {
        format_chardev(w, "serial", s);
    }
    for s in &d.consoles {
        format_chardev(w, "console", s);
    }
    for s in &d.channels {
        format_chardev(w, "channel", s);
    }
    for i in &d.inputs {
        let attrs = [("type", Some(i.input_type.clone())), ("bus", i.bus.clone())];
        if i.address.is_none() {
            w.empty("input", &attrs);
        } else {
            w.open("input", &attrs);
            format_address(w, &i.address);
            w.close("input");
        }
    }
    for g in &d.graphics {
        let attrs = [
            ("type", Some(g.graphics_type.clone())),
            ("port", g.port.map(|p| p.to_string())),
            ("tlsPort", g.tls_port.map(|p| p.to_string())),
            ("autoport", g.autoport.map(yes_no)),
            ("listen", g.listen.clone()),
            ("keymap", g.keymap.clone()),
            ("passwd", g.passwd.clone()),
        ];
        if g.listen.is_none() && g.image_compression.is_none() {
            w.empty("graphics", &attrs);
        } else {
            w.open("graphics", &attrs);
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
            w.close("graphics");
        }
    }
    for s in &d.sounds {
        let attrs = [("model", Some(s.model.clone()))];
        if s.codecs.is_empty() && s.address.is_none() {
            w.empty("sound", &attrs);
        } else {
            w.open("sound", &attrs);
            for c in &s.codecs {
                w.empty("codec", &[("type", Some(c.clone()))]);
            }
            format_address(w, &s.address);
            w.close("sound");
        }
    }
    for a in &d.audios {
        w.empty(
            "audio",
            &[
                ("id", Some(a.id.to_string())),
                ("type", Some(a.audio_type.clone())),
            ],
        );
    }
    for v in &d.videos {
        w.open("video", &[]);
        w.empty(
            "model",
            &[
                ("type", Some(v.model.clone())),
                ("ram", v.ram.map(|x| x.to_string())),
                ("vram", v.vram.map(|x| x.to_string())),
                ("vgamem", v.vgamem.map(|x| x.to_string())),
                ("heads", v.heads.map(|x| x.to_string())),
                ("primary", v.primary.map(yes_no)),
            ],
        );
        format_address(w, &v.address);
        w.close("video");
    }
    for r in &d.redirdevs {
        let attrs = [
            ("bus", Some(r.bus.clone())),
            ("type", Some(r.redir_type.clone())),
        ];
        if r.address.is_none() {
            w.empty("redirdev", &attrs);
        } else {
            w.open("redirdev", &attrs);
            format_address(w, &r.address);
            w.close("redirdev");
        }
    }
    if let Some(m) = &d.memballoon {
        let attrs = [("model", Some(m.model.clone()))];
        if m.address.is_none() {
            w.empty("memballoon", &attrs);
        } else {
            w.open("memballoon", &attrs);
            format_address(w, &m.address);
            w.close("memballoon");
        }
    }
    for r in &d.rngs {
        w.open("rng", &[("model", Some(r.model.clone()))]);
        let attrs = [("model", Some(r.backend_model.clone()))];
        match &r.backend_dev {
            Some(dev) => w.text_el("backend", &attrs, dev),
            None => w.empty("backend", &attrs),
        }
        format_address(w, &r.address);
        w.close("rng");
    }
    w.close("devices");
}

fn format_disk(w: &mut W, disk: &Disk) {
    let (ty, src_attr) = match disk.disk_type {
        DiskType::File => ("file", "file"),
        DiskType::Block => ("block", "dev"),
    };
    let device = match disk.device {
        DiskDevice::Disk => "disk",
        DiskDevice::Cdrom => "cdrom",
        DiskDevice::Floppy => "floppy",
    };
    w.open(
        "disk",
        &[
            ("type", Some(ty.to_owned())),
            ("device", Some(device.to_owned())),
        ],
    );
    let driver = [
        ("name", disk.driver_name.clone()),
        ("type", disk.driver_type.clone()),
        ("cache", disk.driver_cache.clone()),
        ("discard", disk.driver_discard.clone()),
    ];
    if driver.iter().any(|(_, v)| v.is_some()) {
        w.empty("driver", &driver);
    }
    if disk.source.is_some() || !disk.seclabels.is_empty() {
        let attrs = [(src_attr, disk.source.clone())];
        if disk.seclabels.is_empty() {
            w.empty("source", &attrs);
        } else {
            w.open("source", &attrs);
            for s in &disk.seclabels {
                format_seclabel(w, s, false);
            }
            w.close("source");
        }
    }
    w.empty(
        "target",
        &[
            ("dev", Some(disk.target_dev.clone())),
            ("bus", disk.target_bus.map(|b| b.as_str().to_owned())),
        ],
    );
    format_boot(w, disk.boot_order);
    if disk.readonly {
        w.empty("readonly", &[]);
    }
    if disk.shareable {
        w.empty("shareable", &[]);
    }
    if let Some(s) = &disk.serial {
        w.text_el("serial", &[], s);
    }
    format_address(w, &disk.address);
    w.close("disk");
}

fn format_interface(w: &mut W, i: &Interface) {
    let (ty, source) = match &i.iface_type {
        InterfaceType::User => ("user", None),
        InterfaceType::Network(n) => ("network", Some(("network", n))),
        InterfaceType::Bridge(b) => ("bridge", Some(("bridge", b))),
    };
    w.open("interface", &[("type", Some(ty.to_owned()))]);
    if let Some(m) = &i.mac {
        w.empty("mac", &[("address", Some(m.clone()))]);
    }
    if let Some((attr, v)) = source {
        w.empty("source", &[(attr, Some(v.clone()))]);
    }
    if let Some(m) = &i.model {
        w.empty("model", &[("type", Some(m.clone()))]);
    }
    format_boot(w, i.boot_order);
    format_address(w, &i.address);
    w.close("interface");
}

fn format_chardev(w: &mut W, name: &str, c: &Chardev) {
    let (ty, source): (&str, Vec<(&str, Option<String>)>) = match &c.source {
        ChardevSource::Pty => ("pty", vec![]),
        ChardevSource::Null => ("null", vec![]),
        ChardevSource::Stdio => ("stdio", vec![]),
        ChardevSource::Spicevmc => ("spicevmc", vec![]),
        ChardevSource::File { path, append } => (
            "file",
            vec![("path", Some(path.clone())), ("append", append.map(on_off))],
        ),
        ChardevSource::Unix { path, mode } => (
            "unix",
            vec![
                (
                    "mode",
                    Some(
                        match mode {
                            UnixMode::Bind => "bind",
                            UnixMode::Connect => "connect",
                        }
                        .to_owned(),
                    ),
                ),
                ("path", (!path.is_empty()).then(|| path.clone())),
            ],
        ),
    };
    w.open(name, &[("type", Some(ty.to_owned()))]);
    if !source.is_empty() {
        w.empty("source", &source);
    }
    if let Some(f) = &c.log_file {
        w.empty(
            "log",
            &[
                ("file", Some(f.clone())),
                ("append", c.log_append.map(on_off)),
            ],
        );
    }
    let target = [
        ("type", c.target_type.clone()),
        ("port", c.target_port.map(|p| p.to_string())),
        ("name", c.target_name.clone()),
    ];
    match &c.target_model {
        Some(m) => {
            w.open("target", &target);
            w.empty("model", &[("name", Some(m.clone()))]);
            w.close("target");
        }
        None if target.iter().any(|(_, v)| v.is_some()) => w.empty("target", &target),
        None => {}
    }
    format_address(w, &c.address);
    w.close(name);
}

/// A tiny indenting writer.
#[derive(Default)]
struct W {
    out: String,
    depth: usize,
}

type Attrs<'a> = [(&'a str, Option<String>)];

impl W {
    fn start(&mut self, name: &str, attrs: &Attrs) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            if let Some(v) = v {
                let _ = write!(self.out, " {k}='{}'", escape(v, true));
            }
        }
    }
    fn open(&mut self, name: &str, attrs: &Attrs) {
        self.start(name, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }
    fn empty(&mut self, name: &str, attrs: &Attrs) {
        self.start(name, attrs);
        self.out.push_str("/>\n");
    }
    fn text_el(&mut self, name: &str, attrs: &Attrs, text: &str) {
        self.start(name, attrs);
        let _ = writeln!(self.out, ">{}</{name}>", escape(text, false));
    }
    /// An element's source text, verbatim (continuation lines keep their own
    /// indentation, so parsing the output gives back exactly `xml`).
    fn raw(&mut self, xml: &str) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push_str(xml);
        self.out.push('\n');
    }
    fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        let _ = writeln!(self.out, "</{name}>");
    }
}

/// Escape text or a single-quoted attribute value.
fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' if attr => out.push_str("&apos;"),
            '"' if attr => out.push_str("&quot;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_attributes_and_text() {
        assert_eq!(escape("a'b\"<&>", true), "a&apos;b&quot;&lt;&amp;&gt;");
        assert_eq!(escape("a'b<", false), "a'b&lt;");
    }

    #[test]
    fn id_only_in_live_xml() {
        let dom = Domain {
            name: "x".into(),
            id: Some(3),
            memory_kib: 1024,
            ..Domain::default()
        };
        let inactive = format_domain_xml(&dom, FormatOptions::default());
        assert!(inactive.starts_with("<domain type='qemu'>\n"), "{inactive}");
        let live = format_domain_xml(&dom, FormatOptions { live: true });
        assert!(live.starts_with("<domain type='qemu' id='3'>\n"), "{live}");
    }
}
