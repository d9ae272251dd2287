//! End-to-end: python3-libvirt 9.0 (Debian's `/usr/bin/python3`, no libvirt daemon)
//! drives a real `oxvirtd` through the API: host calls, define, start, lookups by
//! name/uuid/id, info, state, XML, the QEMU monitor, destroy, undefine, errors, and
//! lifecycle events delivered to a second connection with an event loop.

mod rpc_common;

use rpc_common::{tail, Daemon};
use std::process::Command;

const SCRIPT: &str = r#"
import sys, threading, time, libvirt, libvirt_qemu

uri, xml_path = sys.argv[1], sys.argv[2]
xml = open(xml_path).read()

libvirt.virEventRegisterDefaultImpl()
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()

events = []
def on_lifecycle(conn, dom, event, detail, opaque):
    events.append((dom.name(), event, detail))

watcher = libvirt.open(uri)
cb = watcher.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_lifecycle, None)

c = libvirt.open(uri)
print("type", c.getType())
print("libversion", c.getLibVersion())
print("version", c.getVersion())
print("hostname", c.getHostname())
print("nodeinfo", c.getInfo()[0])
assert "<capabilities>" in c.getCapabilities()

d = c.defineXML(xml)
assert d.ID() == -1, d.ID()
assert not d.isActive()
assert [x.name() for x in c.listAllDomains()] == ["pydemo"]
d.create()
dom = c.lookupByName("pydemo")
assert dom.isActive()
i = dom.ID()
assert i > 0, i
assert c.lookupByID(i).UUIDString() == dom.UUIDString()
assert c.lookupByUUIDString(dom.UUIDString()).ID() == i
info = dom.info()
print("info", info[0], info[1], info[3])
assert info[0] == libvirt.VIR_DOMAIN_RUNNING
assert dom.state() == [libvirt.VIR_DOMAIN_RUNNING, 1], dom.state()
assert "id='%d'" % i in dom.XMLDesc(0)
out = libvirt_qemu.qemuMonitorCommand(dom, '{"execute":"query-status"}', 0)
assert '"running"' in out, out
dom.suspend()
assert dom.state()[0] == libvirt.VIR_DOMAIN_PAUSED
dom.resume()
dom.destroy()
assert not dom.isActive()
argv = c.domainXMLToNative("qemu-argv", xml, 0)
assert "guest=pydemo" in argv, argv
dom.undefine()
try:
    c.lookupByName("pydemo")
    raise SystemExit("lookup of an undefined domain succeeded")
except libvirt.libvirtError as e:
    print("error", e.get_error_code(), e.get_error_domain())
    assert e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN

deadline = time.time() + 10
while time.time() < deadline and not any(e[1] == libvirt.VIR_DOMAIN_EVENT_UNDEFINED for e in events):
    time.sleep(0.1)
for e in events:
    print("event", *e)
watcher.domainEventDeregisterAny(cb)
c.close()
watcher.close()
print("done")
"#;

#[test]
fn boot_rpc_python_libvirt_api() {
    let d = Daemon::start();
    let xml = d.write("pydemo.xml", &d.domain_xml("pydemo"));
    let script = d.write("client.py", SCRIPT);
    let out = Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(d.uri())
        .arg(&xml)
        .output()
        .expect("/usr/bin/python3 with python3-libvirt must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python failed:\n{stdout}\n{stderr}\n--- oxvirtd log tail:\n{}",
        tail(&d.log(), 40)
    );
    assert!(stdout.contains("type QEMU"), "{stdout}");
    assert!(stdout.contains("libversion 9000000"), "{stdout}");
    assert!(stdout.contains("nodeinfo x86_64"), "{stdout}");
    assert!(stdout.contains("error 42 10"), "{stdout}");
    // Lifecycle: defined/added, started/booted, suspended, resumed, stopped/destroyed,
    // undefined/removed.
    let events: Vec<&str> = stdout.lines().filter(|l| l.starts_with("event ")).collect();
    assert_eq!(
        events,
        [
            "event pydemo 0 0",
            "event pydemo 2 0",
            "event pydemo 3 0",
            "event pydemo 4 0",
            "event pydemo 5 1",
            "event pydemo 1 0",
        ],
        "{stdout}"
    );
    assert!(stdout.contains("done"));
}
