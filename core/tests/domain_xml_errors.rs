//! Domain XML that must be rejected, with messages that name what is wrong, and a
//! property test that the parser never panics.

use oxvirt_core::domain::{format_domain_xml, parse_domain_xml, FormatOptions};
use oxvirt_core::ErrorCode;
use proptest::prelude::*;

/// A valid guest with `devices` inside `<devices>` and `extra` after it.
fn guest(devices: &str, extra: &str) -> String {
    format!(
        "<domain type='kvm'>\n  <name>g</name>\n  <memory>1024</memory>\n  <os><type>hvm</type></os>\n  <devices>\n{devices}\n  </devices>\n{extra}\n</domain>"
    )
}

fn err(xml: &str) -> oxvirt_core::Error {
    match parse_domain_xml(xml) {
        Ok(d) => panic!("accepted:\n{xml}\n{d:?}"),
        Err(e) => e,
    }
}

fn assert_err(xml: &str, needles: &[&str]) -> oxvirt_core::Error {
    let e = err(xml);
    for n in needles {
        assert!(e.message.contains(n), "{:?} lacks {n:?}", e.message);
    }
    e
}

#[test]
fn the_base_guest_is_valid() {
    parse_domain_xml(&guest("", "")).unwrap();
}

#[test]
fn unsupported_devices_name_element_and_path() {
    let e = assert_err(
        &guest("<hostdev mode='subsystem' type='pci'/>", ""),
        &[
            "unsupported configuration: element <hostdev> in <devices> is not supported by oxvirt yet",
            "/domain/devices/hostdev",
            "line 6",
        ],
    );
    assert_eq!(e.code, ErrorCode::ConfigUnsupported);
    for el in [
        "filesystem",
        "tpm",
        "watchdog",
        "smartcard",
        "shmem",
        "lease",
    ] {
        assert_err(
            &guest(&format!("<{el}/>"), ""),
            &[&format!("element <{el}> in <devices>")],
        );
    }
    for el in [
        "numatune",
        "memoryBacking",
        "resource",
        "sysinfo",
        "iothreads",
    ] {
        assert_err(
            &guest("", &format!("<{el}/>")),
            &[&format!("element <{el}> in <domain>")],
        );
    }
}

#[test]
fn unsupported_types_name_the_value() {
    assert_err(
        &guest("<graphics type='sdl'/>", ""),
        &["type='sdl'", "<graphics>", "not supported by oxvirt yet"],
    );
    assert_err(
        &guest("<sound model='sb16'/>", ""),
        &["model='sb16'", "<sound>", "not supported by oxvirt yet"],
    );
    assert_err(
        &guest("<audio id='1' type='pulseaudio'/>", ""),
        &[
            "type='pulseaudio'",
            "<audio>",
            "not supported by oxvirt yet",
        ],
    );
    assert_err(
        &guest("<redirdev bus='usb' type='tcp'/>", ""),
        &["type='tcp'", "<redirdev>", "not supported by oxvirt yet"],
    );
    for t in ["direct", "vhostuser", "ethernet"] {
        assert_err(
            &guest(
                &format!("<interface type='{t}'><source dev='eth0'/></interface>"),
                "",
            ),
            &[&format!("type='{t}'"), "<interface>"],
        );
    }
    for t in ["network", "volume", "dir"] {
        assert_err(
            &guest(
                &format!("<disk type='{t}' device='disk'><target dev='vda'/></disk>"),
                "",
            ),
            &[&format!("type='{t}'"), "<disk>"],
        );
    }
}

#[test]
fn unsupported_attributes_and_nested_elements_are_named() {
    assert_err(
        &guest(
            "<disk type='file' device='disk'><driver name='qemu' io='native'/><target dev='vda'/></disk>",
            "",
        ),
        &["attribute 'io' of <driver>", "/domain/devices/disk/driver"],
    );
    assert_err(
        &guest("<disk type='file'><target dev='vda'/><iotune/></disk>", ""),
        &["element <iotune> in <disk>", "/domain/devices/disk/iotune"],
    );
    assert_err(
        &guest(
            "",
            "<features><kvm><dirty-ring state='on'/></kvm></features>",
        ),
        &["element <dirty-ring> in <kvm>"],
    );
    assert_err(
        &guest("", "<cpu mode='custom'><numa/></cpu>"),
        &["element <numa> in <cpu>"],
    );
    assert_err(
        &guest(
            "",
            "<cpu mode='custom'><topology sockets='1' clusters='2'/></cpu>",
        ),
        &["attribute 'clusters' of <topology>"],
    );
    assert_err(
        &guest(
            "<controller type='usb'><target chassis='1'/></controller>",
            "",
        ),
        &["element <target> in <controller>"],
    );
    assert_err(
        &guest(
            "<controller type='pci' model='pcie-root-port'><target port='x'/></controller>",
            "",
        ),
        &["invalid value 'x' for attribute 'port' of <target>"],
    );
    assert_err(
        &guest(
            "<memballoon model='virtio'><stats period='10'/></memballoon>",
            "",
        ),
        &["element <stats> in <memballoon>"],
    );
    assert_err(
        &guest(
            "<graphics type='vnc'><image compression='off'/></graphics>",
            "",
        ),
        &["element <image> in <graphics>"],
    );
    assert_err(
        "<domain type='kvm'><name>g</name><memory>1</memory><os><type>hvm</type><loader secure='yes'>/x.fd</loader></os></domain>",
        &["attribute 'secure' of <loader>"],
    );
    assert_err(
        "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>g</name><memory>1</memory><os><type>hvm</type></os><qemu:override/></domain>",
        &["element <qemu:override> in <domain>"],
    );
}

#[test]
fn name_validation() {
    let no_name = "<domain type='kvm'><memory>1024</memory><os><type>hvm</type></os></domain>";
    assert_err(no_name, &["name", "missing"]);
    let empty =
        "<domain type='kvm'><name>  </name><memory>1024</memory><os><type>hvm</type></os></domain>";
    assert_err(empty, &["name", "empty"]);
    let slash = "<domain type='kvm'><name>a/b</name><memory>1024</memory><os><type>hvm</type></os></domain>";
    assert_err(slash, &["name a/b cannot contain '/'"]);
}

#[test]
fn uuid_validation() {
    assert_err(
        &guest("", "<uuid>not-a-uuid</uuid>"),
        &["malformed uuid 'not-a-uuid'", "<uuid>"],
    );
    assert_err(
        &guest("", "<uuid>c7a5fdbd-cdaf-9455-926a-d65c16db18</uuid>"),
        &["malformed uuid"],
    );
    // libvirt accepts the hex digits without dashes.
    let d = parse_domain_xml(&guest("", "<uuid>c7a5fdbdcdaf9455926ad65c16db1809</uuid>")).unwrap();
    assert_eq!(d.uuid.to_string(), "c7a5fdbd-cdaf-9455-926a-d65c16db1809");
}

#[test]
fn memory_and_vcpu_validation() {
    let no_mem = "<domain type='kvm'><name>g</name><os><type>hvm</type></os></domain>";
    assert_err(no_mem, &["memory", "'g'"]);
    let zero =
        "<domain type='kvm'><name>g</name><memory>0</memory><os><type>hvm</type></os></domain>";
    assert_err(zero, &["memory", "greater than 0"]);
    let unit = "<domain type='kvm'><name>g</name><memory unit='parsecs'>1</memory><os><type>hvm</type></os></domain>";
    assert_err(unit, &["'parsecs'", "attribute 'unit' of <memory>", "KiB"]);
    let huge = "<domain type='kvm'><name>g</name><memory unit='TiB'>99999999999</memory><os><type>hvm</type></os></domain>";
    assert_err(huge, &["too large"]);
    assert_err(&guest("", "<vcpu>0</vcpu>"), &["vcpu", "at least 1"]);
    assert_err(&guest("", "<vcpu>two</vcpu>"), &["vcpu count 'two'"]);
    assert_err(
        &guest("", "<vcpu current='3'>2</vcpu>"),
        &["attribute 'current' of <vcpu>"],
    );
}

#[test]
fn malformed_xml_reports_line_and_column() {
    let e = assert_err(
        "<domain type='kvm'>\n  <name>g</name>\n  <memory>1</memroy>\n</domain>",
        &["malformed domain XML at line 3, column"],
    );
    assert_eq!(e.code, ErrorCode::XmlError);
    assert_err("", &["no root element"]);
    assert_err("<domain type='kvm'>", &["not closed"]);
    assert_err("<domain a='1' a='2'/>", &["line 1"]);
    assert_err("<domain><name>&bogus;</name></domain>", &["line 1"]);
    assert_err("<domain/><domain/>", &["after the root element"]);
}

#[test]
fn root_must_be_domain() {
    assert_err(
        "<network><name>x</name></network>",
        &["expected root element <domain>, found <network>"],
    );
    assert_err(
        "<q:domain xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0'/>",
        &["expected root element <domain>"],
    );
}

#[test]
fn bad_enum_values_name_attribute_and_allowed_values() {
    assert_err(
        "<domain type='bogus'><name>g</name><memory>1</memory><os><type>hvm</type></os></domain>",
        &[
            "invalid value 'bogus' for attribute 'type' of <domain>",
            "'qemu', 'kvm'",
        ],
    );
    assert_err(
        "<domain type='xen'><name>g</name><memory>1</memory><os><type>hvm</type></os></domain>",
        &["type='xen'", "not supported by oxvirt yet"],
    );
    assert_err(
        &guest(
            "<disk type='file' device='disk'><target dev='vda' bus='nvme'/></disk>",
            "",
        ),
        &["'nvme'", "attribute 'bus' of <target>", "'virtio'"],
    );
    assert_err(
        &guest("", "<os><type>hvm</type><boot dev='usb'/></os>"),
        &["element <os> appears more than once in <domain>"],
    );
    assert_err(
        "<domain type='kvm'><name>g</name><memory>1</memory><os><type>hvm</type><boot dev='usb'/></os></domain>",
        &["'usb'", "attribute 'dev' of <boot>", "'hd', 'cdrom', 'fd', 'network'"],
    );
    assert_err(
        &guest("", "<on_crash>explode</on_crash>"),
        &["'explode'", "<on_crash>", "'coredump-restart'"],
    );
    assert_err(
        &guest("", "<clock offset='sometimes'/>"),
        &["'sometimes'", "attribute 'offset' of <clock>"],
    );
    assert_err(
        &guest(
            "",
            "<clock><timer name='rtc'><catchup limit='1'/></timer></clock>",
        ),
        &["element <catchup> in <timer>", "not supported"],
    );
    assert_err(
        &guest("<input type='mouse' bus='serial'/>", ""),
        &["'serial'", "attribute 'bus' of <input>"],
    );
    assert_err(
        &guest(
            "<disk type='file' device='disk'><driver cache='maybe'/><target dev='vda'/></disk>",
            "",
        ),
        &["'maybe'", "attribute 'cache' of <driver>"],
    );
    assert_err(
        &guest("<channel type='unix'><source mode='listen'/><target type='virtio' name='x'/></channel>", ""),
        &["'listen'", "attribute 'mode' of <source>", "'bind', 'connect'"],
    );
}

#[test]
fn device_validation() {
    assert_err(
        &guest(
            "<disk type='file' device='disk'><source file='/x'/></disk>",
            "",
        ),
        &["<disk> has no <target"],
    );
    assert_err(
        &guest("<interface type='network'/>", ""),
        &["<interface type='network'>", "source"],
    );
    assert_err(
        &guest(
            "<interface type='user'><mac address='zz:00'/></interface>",
            "",
        ),
        &["'zz:00'", "attribute 'address' of <mac>"],
    );
    assert_err(
        &guest("<serial type='file'><target port='0'/></serial>", ""),
        &["<serial type='file'> has no <source path"],
    );
    assert_err(
        &guest("<graphics type='vnc' port='70000'/>", ""),
        &["'70000'", "attribute 'port' of <graphics>"],
    );
    assert_err(
        &guest(
            "<graphics type='vnc' listen='1.2.3.4'><listen type='address' address='5.6.7.8'/></graphics>",
            "",
        ),
        &["must match"],
    );
    assert_err(
        &guest("<memballoon model='virtio'/><memballoon model='none'/>", ""),
        &["more than once"],
    );
    assert_err(
        &guest(
            "<disk type='file' device='disk'><target dev='vda'/><boot order='1'/></disk>",
            "<os><type>hvm</type><boot dev='hd'/></os>",
        ),
        &["more than once"],
    );
}

#[test]
fn per_device_boot_conflicts_with_os_boot() {
    let xml = "<domain type='kvm'><name>g</name><memory>1</memory><os><type>hvm</type><boot dev='hd'/></os><devices><disk type='file'><target dev='vda'/><boot order='1'/></disk></devices></domain>";
    assert_err(
        xml,
        &["per-device boot elements cannot be used together with os/boot"],
    );
}

#[test]
fn qemu_namespace_only_by_uri() {
    // A `qemu:` prefix bound to another URI is not the QEMU namespace.
    let xml = "<domain type='kvm' xmlns:qemu='http://example.com/other'><name>g</name><memory>1</memory><os><type>hvm</type></os><qemu:commandline/></domain>";
    assert_err(xml, &["not supported by oxvirt yet"]);
    let xml = "<domain type='kvm'><name>g</name><memory>1</memory><os><type>hvm</type></os><qemu:commandline/></domain>";
    assert_err(xml, &["prefix 'qemu'", "not declared"]);
    let xml = "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>g</name><memory>1</memory><os><type>hvm</type></os><qemu:commandline><qemu:env name='1BAD'/></qemu:commandline></domain>";
    assert_err(xml, &["'1BAD'", "attribute 'name' of <qemu:env>"]);
}

fn fixture_bytes() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut v: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    v.sort();
    v
}

/// Parse; when it succeeds, the formatted form must parse back to the same domain.
fn check(text: &str) {
    if let Ok(d) = parse_domain_xml(text) {
        let xml = format_domain_xml(
            &d,
            FormatOptions {
                live: d.id.is_some(),
            },
        );
        let again = parse_domain_xml(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(d, again, "{xml}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,400}") {
        check(&s);
    }

    #[test]
    fn xmlish_strings_never_panic(s in "[<>/='\" a-z&;:#0-9\n]{0,300}") {
        check(&format!("<domain type='kvm'>{s}</domain>"));
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..64,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let all = fixture_bytes();
        let mut bytes = all[which % all.len()].clone();
        for (pos, byte, op) in edits {
            if bytes.is_empty() { break; }
            let i = pos % bytes.len();
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, byte),
            }
        }
        check(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn prefixed_address_attributes_are_rejected() {
    assert_err(
        &guest(
            "<disk type='file'><target dev='vda'/><address type='pci' xmlns:x='urn:x' x:slot='1'/></disk>",
            "",
        ),
        &["attribute 'x:slot' of <address>"],
    );
}

#[test]
fn error_lines_count_from_one() {
    let e = err(&guest("\n\n<tpm model='tpm-crb'/>", ""));
    assert!(e.message.contains("line 8"), "{}", e.message);
}

#[test]
fn metadata_children_need_their_own_namespace() {
    assert_err(
        &guest("", "<metadata><app/></metadata>"),
        &["element <app> in <metadata> must be in a namespace of its own"],
    );
    assert_err(
        "<domain type='kvm' xmlns:a='urn:a'><name>g</name><memory>1</memory><os><type>hvm</type></os><metadata><a:x/></metadata></domain>",
        &["declare xmlns:PREFIX='urn:a' on the element itself"],
    );
    // Kept verbatim, and formatted back as written.
    let xml = guest(
        "",
        "<metadata><a:x xmlns:a='urn:a' k=\"v &amp; w\">\n  <a:y/>text</a:x></metadata>",
    );
    let d = parse_domain_xml(&xml).unwrap();
    let out = format_domain_xml(&d, FormatOptions::default());
    assert!(
        out.contains("    <a:x xmlns:a='urn:a' k=\"v &amp; w\">\n  <a:y/>text</a:x>\n"),
        "{out}"
    );
    assert_eq!(parse_domain_xml(&out).unwrap(), d);
}
