//! Golden tests for the platform part of the argv builder (`<features>`, `<clock>`,
//! `<cpu>`, `<vcpu>`, memory, firmware): every `core/tests/data/platform-*.xml` fixture
//! → QEMU command line, one `insta` snapshot each (one option per line; a computed
//! `-rtc base=` start time is replaced by `TIME`), plus the refusals of what QEMU
//! cannot do, each naming the element. `tests/tests/platform_qemu.rs` starts the same
//! fixtures under the installed QEMU and compares them with libvirt.

use oxvirt_core::domain::parse_domain_xml;
use oxvirt_driver_qemu::argv::{build_with_caps, ArgvContext, QemuCaps, QemuCommand};
use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../core/tests/data")
}

fn ctx(emulator: &Path) -> ArgvContext<'_> {
    ArgvContext {
        emulator,
        monitor_socket: Path::new("/run/oxvirt/qemu/domain-1-test/monitor.sock"),
        domain_dir: Path::new("/var/lib/oxvirt/qemu/domain-1-test"),
        for_native_export: true,
        seccomp_sandbox: -1,
        vnc_listen: "127.0.0.1",
    }
}

/// The assumed QEMU 7.2 of the binary's target.
fn caps_for(emulator: &Path) -> QemuCaps {
    let mut c = QemuCaps::assumed();
    if emulator.ends_with("qemu-system-i386") {
        c.target = "i386".into();
    }
    c
}

/// Environment and binary on their own lines, then one option (with its value) a line.
fn render(c: &QemuCommand) -> String {
    let mut out = String::new();
    for (k, v) in &c.env {
        out.push_str(&format!("{k}={v}\n"));
    }
    out.push_str(&c.binary.display().to_string());
    for a in &c.args {
        out.push(if a.starts_with('-') { '\n' } else { ' ' });
        out.push_str(&normalise_time(a));
    }
    out.push('\n');
    out
}

/// `base=2026-01-01T00:00:00` → `base=TIME` (the start time is computed at build).
fn normalise_time(a: &str) -> String {
    match a.strip_prefix("base=") {
        Some(rest) if rest.as_bytes().first().is_some_and(u8::is_ascii_digit) => {
            let tail = rest.find(',').map(|i| &rest[i..]).unwrap_or("");
            format!("base=TIME{tail}")
        }
        _ => a.to_string(),
    }
}

fn build_xml(xml: &str) -> oxvirt_core::Result<QemuCommand> {
    let dom = parse_domain_xml(xml)?;
    let emulator = dom
        .devices
        .emulator
        .clone()
        .unwrap_or_else(|| "/usr/bin/qemu-system-x86_64".into());
    let emulator = PathBuf::from(emulator);
    build_with_caps(&dom, &ctx(&emulator), &caps_for(&emulator))
}

#[test]
fn every_platform_fixture_matches_its_snapshot() {
    let mut names: Vec<String> = std::fs::read_dir(data_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("platform-") && n.ends_with(".xml"))
        .collect();
    names.sort();
    assert!(names.len() >= 5, "platform fixtures: {names:?}");
    for name in names {
        let xml = std::fs::read_to_string(data_dir().join(&name)).unwrap();
        let cmd = build_xml(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        insta::assert_snapshot!(name.trim_end_matches(".xml").to_string(), render(&cmd));
    }
}

/// A TCG q35 domain with `extra` in its body.
fn domain(virt: &str, extra: &str) -> String {
    format!(
        "<domain type='{virt}'><name>p</name><memory unit='MiB'>128</memory><vcpu>2</vcpu>\
         <os><type arch='x86_64' machine='q35'>hvm</type></os>{extra}</domain>"
    )
}

fn refused(virt: &str, extra: &str) -> String {
    match build_xml(&domain(virt, extra)) {
        Ok(c) => panic!("accepted {extra}: {}", c.to_shell_line()),
        Err(e) => e.message,
    }
}

#[test]
fn what_qemu_cannot_do_is_refused_naming_it() {
    let cases: &[(&str, &str, &str)] = &[
        ("qemu", "<clock><timer name='platform'/></clock>", "unsupported timer type (name) 'platform'"),
        ("qemu", "<clock><timer name='rtc' tickpolicy='merge'/></clock>", "unsupported rtc tickpolicy 'merge'"),
        ("qemu", "<clock><timer name='pit' tickpolicy='merge'/></clock>", "unsupported pit tickpolicy 'merge'"),
        ("qemu", "<clock><timer name='pit' present='no'/></clock>", "<timer name='pit' present='no'>"),
        ("qemu", "<clock><timer name='rtc' present='no'/></clock>", "<timer name='rtc' present='no'>"),
        ("qemu", "<clock><timer name='hpet' tickpolicy='delay'/></clock>", "timer hpet doesn't support setting of timer tickpolicy"),
        ("qemu", "<clock><timer name='kvmclock' tickpolicy='delay'/></clock>", "timer kvmclock doesn't support"),
        ("qemu", "<clock><timer name='rtc' track='boot'/></clock>", "unsupported rtc timer track 'boot'"),
        ("qemu", "<clock><timer name='tsc' frequency='2000000000'/></clock>", "needs <domain type='kvm'>"),
        ("qemu", "<clock><timer name='tsc' mode='native'/></clock>", "<timer name='tsc'> mode and present"),
        ("qemu", "<features><hap state='off'/></features>", "<hap state='off'>"),
        ("qemu", "<features><ioapic driver='qemu'/></features>", "<ioapic driver=..>"),
        ("kvm", "<features><hyperv><synic state='on'/></hyperv></features>", "'synic' requires 'vpindex'"),
        (
            "kvm",
            "<features><hyperv><vpindex state='on'/><synic state='on'/><stimer state='on'/></hyperv></features>",
            "requires the hypervclock timer",
        ),
        ("qemu", "<features><hyperv><vpindex state='on'/></hyperv></features>", "'vpindex' needs <domain type='kvm'>"),
        ("qemu", "<features><kvm><hint-dedicated state='on'/></kvm></features>", "needs <domain type='kvm'>"),
    ];
    for (virt, extra, want) in cases {
        let msg = refused(virt, extra);
        assert!(msg.contains(want), "{extra}: {msg}");
    }
    let pc = "<domain type='qemu'><name>p</name><memory unit='MiB'>128</memory>\
              <os><type machine='pc'>hvm</type></os><features><smm><tseg unit='MiB'>8</tseg></smm></features></domain>";
    let e = build_xml(pc).unwrap_err().message;
    assert!(e.contains("SMM TSEG is only supported with q35"), "{e}");
}

#[test]
fn what_libvirt_refuses_at_parse_is_refused_naming_it() {
    let cases: &[(&str, &str)] = &[
        ("<features><async-teardown enabled='yes'/></features>", "unexpected feature 'async-teardown'"),
        ("<features><gic version='2'/></features>", "The 'gic' feature is not supported for architecture 'x86_64'"),
        ("<features><htm state='on'/></features>", "The 'htm' feature"),
        ("<features><msrs unknown='ignore'/></features>", "<msrs unknown='ignore'>"),
        ("<features><hyperv><emsr_bitmap state='on'/></hyperv></features>", "unsupported HyperV Enlightenment feature: emsr_bitmap"),
        ("<features><hyperv><tlbflush state='on'><direct state='on'/></tlbflush></hyperv></features>", "element <direct> in <tlbflush>"),
        ("<features><hyperv><spinlocks state='on' retries='10'/></hyperv></features>", "retries"),
        ("<features><hyperv><vendor_id state='on' value='much too long vendor'/></hyperv></features>", "at most 12"),
        ("<features><kvm><dirty-ring state='on'/></kvm></features>", "element <dirty-ring> in <kvm>"),
        ("<features><smm state='off'><tseg unit='MiB'>8</tseg></smm></features>", "<tseg> needs SMM enabled"),
        ("<clock offset='utc' basis='utc'/>", "attribute 'basis' of <clock> needs offset='variable'"),
        ("<clock offset='timezone'/>", "missing attribute 'timezone'"),
        ("<clock offset='absolute'/>", "missing attribute 'start'"),
        ("<clock offset='variable' adjustment='reset'/>", "'reset' or a number of seconds"),
        ("<clock><timer name='hpet' present='no'/><timer name='hpet'/></clock>", "<timer name='hpet'> is given more than once"),
    ];
    for (extra, want) in cases {
        let e = parse_domain_xml(&domain("qemu", extra))
            .unwrap_err()
            .message;
        assert!(e.contains(want), "{extra}: {e}");
    }
}
