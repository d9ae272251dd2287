//! The procedure table's access rules on the wire, against the fake driver: libvirt's
//! answers for unimplemented procedures, event messages called as procedures, calls
//! refused on read-only connections (the read-only socket, or CONNECT_OPEN with
//! VIR_CONNECT_RO) and dumpxml's secure flags.

mod common;

use common::*;
use oxvirt_core::driver::Connection;
use oxvirt_driver_remote::packet::{PROG_QEMU, PROG_REMOTE};
use oxvirt_driver_remote::protocol::procs as p;
use oxvirt_driver_remote::protocol::RemoteError;
use oxvirt_driver_remote::server::SocketPolicy;
use oxvirt_driver_remote::xdr::Encoder;
use std::os::unix::net::UnixStream;

const DOMAIN_REBOOT: i32 = 27;
/// libvirt's VIR_FROM_DOMAIN, the error domain of src/libvirt-domain.c.
const FROM_DOMAIN: i32 = 20;

fn err(s: &mut UnixStream, prog: u32, proc_: i32, payload: &[u8]) -> RemoteError {
    let r = call(s, prog, proc_, 7, payload).expect("no reply");
    error_of(&r).unwrap_or_else(|| panic!("procedure {proc_} succeeded"))
}

fn defined(h: &Harness) -> Encoder {
    let c = oxvirt_driver_remote::client::RemoteConnection::connect(
        "qemu:///system",
        &h.sock,
        "qemu:///system",
    )
    .unwrap();
    dom_arg(&c.define_xml("<domain><name>acl</name></domain>").unwrap())
}

fn xml_to_native_args() -> Vec<u8> {
    let mut e = Encoder::new();
    e.string("qemu-argv")
        .string("<domain><emulator>/tmp/x</emulator></domain>")
        .u32(0);
    e.buf
}

#[test]
fn unimplemented_procedures_answer_no_support_naming_the_api() {
    let h = serve(Fake::default(), SocketPolicy::default());
    let mut s = open_with(&h.sock, 0);
    let dom = defined(&h);
    let e = err(&mut s, PROG_REMOTE, DOMAIN_REBOOT, &dom.buf);
    assert_eq!((e.code, e.domain), (3, FROM_DOMAIN));
    assert_eq!(
        e.message.as_deref(),
        Some("this function is not supported by the connection driver: virDomainReboot")
    );
    // The qemu program too (libvirt-qemu.c reports from VIR_FROM_NONE).
    let e = err(&mut s, PROG_QEMU, 3, &dom.buf);
    assert_eq!((e.code, e.domain), (3, 0));
    assert!(e.message.unwrap().ends_with(": virDomainQemuAgentCommand"));
    // An event message is not a procedure a client may call.
    let e = err(&mut s, PROG_REMOTE, p::DOMAIN_EVENT_CALLBACK_LIFECYCLE, &[]);
    assert_eq!(e.code, 39);
    assert_eq!(e.message.as_deref(), Some("unknown procedure: 318"));
    // Before CONNECT_OPEN only the handshake is served.
    let mut fresh = UnixStream::connect(&h.sock).unwrap();
    let e = err(&mut fresh, PROG_REMOTE, DOMAIN_REBOOT, &dom.buf);
    assert_eq!(
        e.message.as_deref(),
        Some("internal error: hypervisor connection not open")
    );
}

#[test]
fn read_only_clients_cannot_reach_the_emulator_or_change_anything() {
    let h = serve(Fake::default(), SocketPolicy::default());
    let dom = defined(&h);
    // The read-only socket, and a read-only open on the read-write socket (virsh -r).
    for mut s in [open_with(&h.ro_sock, 0), open_with(&h.sock, 1)] {
        let denied = |s: &mut UnixStream, prog, proc_, payload: &[u8], api: &str, domain| {
            let e = err(s, prog, proc_, payload);
            assert_eq!((e.code, e.domain), (29, domain), "{api}");
            let want = format!("operation forbidden: read only access prevents {api}");
            assert_eq!(e.message.as_deref(), Some(want.as_str()));
        };
        let args = xml_to_native_args();
        denied(
            &mut s,
            PROG_REMOTE,
            p::CONNECT_DOMAIN_XML_TO_NATIVE,
            &args,
            "virConnectDomainXMLToNative",
            FROM_DOMAIN,
        );
        denied(
            &mut s,
            PROG_REMOTE,
            p::CONNECT_DOMAIN_XML_FROM_NATIVE,
            &args,
            "virConnectDomainXMLFromNative",
            FROM_DOMAIN,
        );
        let mut caps = Encoder::new();
        caps.opt_string(Some("/tmp/marker.sh"))
            .u32(0)
            .u32(0)
            .u32(0)
            .u32(0);
        denied(
            &mut s,
            PROG_REMOTE,
            p::CONNECT_GET_DOMAIN_CAPABILITIES,
            &caps.buf,
            "virConnectGetDomainCapabilities",
            FROM_DOMAIN,
        );
        denied(
            &mut s,
            PROG_REMOTE,
            p::DOMAIN_DESTROY,
            &dom.buf,
            "virDomainDestroy",
            FROM_DOMAIN,
        );
        // Refused as read-only before being found unimplemented, as libvirt.
        denied(
            &mut s,
            PROG_REMOTE,
            DOMAIN_REBOOT,
            &dom.buf,
            "virDomainReboot",
            FROM_DOMAIN,
        );
        let mut mon = dom.buf.clone();
        let mut e = Encoder::new();
        e.string("{\"execute\":\"quit\"}").u32(0);
        mon.extend_from_slice(&e.buf);
        denied(
            &mut s,
            PROG_QEMU,
            p::QEMU_DOMAIN_MONITOR_COMMAND,
            &mon,
            "virDomainQemuMonitorCommand",
            0,
        );
        // Reading works.
        let r = call(&mut s, PROG_REMOTE, p::CONNECT_GET_HOSTNAME, 8, &[]).unwrap();
        assert_eq!(error_of(&r), None);
    }
}

#[test]
fn dumpxml_secure_flags_need_read_write() {
    let h = serve(Fake::default(), SocketPolicy::default());
    let dom = defined(&h);
    let xml = |flags: u32| {
        let mut a = dom.buf.clone();
        a.extend_from_slice(&flags.to_be_bytes());
        a
    };
    let mut ro = open_with(&h.ro_sock, 0);
    for flags in [1, 8, 1 | 2, 8 | 4] {
        let e = err(&mut ro, PROG_REMOTE, p::DOMAIN_GET_XML_DESC, &xml(flags));
        assert_eq!((e.code, e.domain), (29, FROM_DOMAIN), "flags {flags}");
        assert_eq!(
            e.message.as_deref(),
            Some("operation forbidden: virDomainGetXMLDesc with secure flag")
        );
    }
    // Plain and inactive XML are fine read-only; SECURE is fine read-write.
    for flags in [0, 2] {
        let r = call(&mut ro, PROG_REMOTE, p::DOMAIN_GET_XML_DESC, 9, &xml(flags)).unwrap();
        assert_eq!(error_of(&r), None, "flags {flags}");
    }
    let mut rw = open_with(&h.sock, 0);
    let r = call(&mut rw, PROG_REMOTE, p::DOMAIN_GET_XML_DESC, 9, &xml(1)).unwrap();
    assert_eq!(error_of(&r), None);
}
