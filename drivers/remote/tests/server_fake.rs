//! The server and the client driver against an in-memory fake `Connection` (no QEMU):
//! the client's API round trip, keepalive answered while a slow call runs, SO_PEERCRED
//! policy, a client vanishing mid-call, read-only policy.

mod common;

use common::*;
use oxvirt_core::driver::{Connection, DomainKey, DomainState, ListFilter, StateReason, XmlFlags};
use oxvirt_core::ErrorCode;
use oxvirt_driver_remote::client::RemoteConnection;
use oxvirt_driver_remote::packet::{self, MsgType, PROG_KEEPALIVE, PROG_REMOTE};
use oxvirt_driver_remote::protocol::procs as p;
use oxvirt_driver_remote::server::{Limits, SocketPolicy};
use oxvirt_driver_remote::xdr::Encoder;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

#[test]
fn client_driver_round_trip() {
    let h = serve(Fake::default(), SocketPolicy::default());
    let c = RemoteConnection::connect("qemu:///system", &h.sock, "qemu:///system").unwrap();
    assert_eq!(c.hypervisor_version().unwrap(), 7_002_000);
    let d = c.define_xml("<domain><name>a</name></domain>").unwrap();
    assert_eq!(d.id, None);
    let all = ListFilter {
        active: true,
        inactive: true,
    };
    assert_eq!(c.list(all).unwrap().len(), 1);
    let s = c.start(&DomainKey::Name("a".into())).unwrap();
    let id = s.id.unwrap();
    assert_eq!(s.state, DomainState::Running);
    // Lookups by name, uuid and id agree.
    assert_eq!(c.lookup(&DomainKey::Id(id)).unwrap(), s);
    assert_eq!(c.lookup(&DomainKey::Uuid(d.uuid)).unwrap(), s);
    let info = c.info(&DomainKey::Name("a".into())).unwrap();
    assert_eq!((info.vcpus, info.max_mem_kib), (2, 262144));
    assert_eq!(info.security[0].model, "none");
    c.suspend(&DomainKey::Id(id)).unwrap();
    assert_eq!(
        c.lookup(&DomainKey::Id(id)).unwrap().state,
        DomainState::Paused
    );
    c.resume(&DomainKey::Id(id)).unwrap();
    assert!(c
        .xml(&DomainKey::Name("a".into()), XmlFlags::default())
        .unwrap()
        .contains("<name>a</name>"));
    c.destroy(&DomainKey::Name("a".into())).unwrap();
    let off = c.lookup(&DomainKey::Name("a".into())).unwrap();
    assert_eq!((off.id, off.reason), (None, StateReason::Destroyed));
    c.undefine(&DomainKey::Name("a".into())).unwrap();
    let e = c.lookup(&DomainKey::Name("a".into())).unwrap_err();
    assert_eq!(e.code, ErrorCode::NoDomain);
    // Not implemented by the fake: NO_SUPPORT comes back as such.
    let e = c.capabilities().unwrap_err();
    assert_eq!(e.code, ErrorCode::NoSupport);
}

#[test]
fn ping_is_answered_while_a_slow_call_runs() {
    let h = serve(
        Fake {
            start_delay: Duration::from_secs(2),
            ..Default::default()
        },
        SocketPolicy::default(),
    );
    let c = RemoteConnection::connect("qemu:///system", &h.sock, "qemu:///system").unwrap();
    let d = c.define_xml("<domain><name>slow</name></domain>").unwrap();
    let mut s = open_raw(&h.sock);
    let mut e = Encoder::new();
    oxvirt_driver_remote::events::remote_domain(&d).encode(&mut e);
    let t0 = Instant::now();
    s.write_all(&frame(
        PROG_REMOTE,
        p::DOMAIN_CREATE,
        1,
        MsgType::Call,
        &e.buf,
    ))
    .unwrap();
    s.write_all(&frame(
        PROG_KEEPALIVE,
        packet::KEEPALIVE_PING,
        0,
        MsgType::Message,
        &[],
    ))
    .unwrap();
    let (first, _) = read_msg(&mut s).unwrap();
    assert_eq!(first.prog, PROG_KEEPALIVE, "{first:?}");
    assert_eq!(first.proc_, packet::KEEPALIVE_PONG);
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    // The reply follows once the slow call is done (events may come before it).
    loop {
        let (m, _) = read_msg(&mut s).unwrap();
        if m.mtype == MsgType::Reply {
            assert_eq!((m.proc_, m.serial), (p::DOMAIN_CREATE, 1));
            break;
        }
    }
    assert!(t0.elapsed() >= Duration::from_secs(2));
}

#[test]
fn peer_credentials_are_checked() {
    let me = nix::unistd::geteuid().as_raw();
    let h = serve(
        Fake::default(),
        SocketPolicy {
            read_only: false,
            allowed_uids: vec![me.wrapping_add(1)],
        },
    );
    let mut s = UnixStream::connect(&h.sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(&frame(PROG_REMOTE, p::AUTH_LIST, 0, MsgType::Call, &[]));
    assert!(read_msg(&mut s).is_none(), "a refused peer got an answer");
    assert!(RemoteConnection::connect("qemu:///system", &h.sock, "qemu:///system").is_err());
}

#[test]
fn client_vanishing_mid_call_does_not_hurt_others() {
    let h = serve(
        Fake {
            start_delay: Duration::from_millis(500),
            ..Default::default()
        },
        SocketPolicy::default(),
    );
    let c = RemoteConnection::connect("qemu:///system", &h.sock, "qemu:///system").unwrap();
    let d = c.define_xml("<domain><name>v</name></domain>").unwrap();
    {
        let mut s = open_raw(&h.sock);
        let mut e = Encoder::new();
        oxvirt_driver_remote::events::remote_domain(&d).encode(&mut e);
        s.write_all(&frame(
            PROG_REMOTE,
            p::DOMAIN_CREATE,
            1,
            MsgType::Call,
            &e.buf,
        ))
        .unwrap();
    } // gone before the reply
    std::thread::sleep(Duration::from_millis(800));
    let s = c.lookup(&DomainKey::Name("v".into())).unwrap();
    assert_eq!(s.state, DomainState::Running);
    assert!(!c.hostname().unwrap().is_empty());
}

#[test]
fn read_only_policy_refuses_changes_but_reads() {
    let h = serve(
        Fake::default(),
        SocketPolicy {
            read_only: true,
            allowed_uids: vec![],
        },
    );
    let c = RemoteConnection::connect("qemu:///system", &h.sock, "qemu:///system").unwrap();
    assert!(c
        .list(ListFilter {
            active: true,
            inactive: true
        })
        .unwrap()
        .is_empty());
    let e = c.define_xml("<domain><name>x</name></domain>").unwrap_err();
    assert!(
        e.message
            .contains("read only access prevents virDomainDefineXML"),
        "{e}"
    );
}

#[test]
fn silent_keepalive_client_is_pinged_then_dropped() {
    let h = serve_with(
        Fake::default(),
        SocketPolicy::default(),
        Limits {
            keepalive: Some((Duration::from_millis(200), 2)),
            ..Limits::default()
        },
    );
    let mut s = UnixStream::connect(&h.sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut e = Encoder::new();
    e.i32(p::feature::PROGRAM_KEEPALIVE);
    s.write_all(&frame(
        PROG_REMOTE,
        p::CONNECT_SUPPORTS_FEATURE,
        0,
        MsgType::Call,
        &e.buf,
    ))
    .unwrap();
    let t0 = Instant::now();
    let mut pings = 0;
    while let Some((m, _)) = read_msg(&mut s) {
        if m.prog == PROG_KEEPALIVE && m.proc_ == packet::KEEPALIVE_PING {
            pings += 1;
        }
    }
    // Closed after about 3 intervals of silence, having pinged in between.
    assert!(pings >= 1, "{pings}");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());

    // A client that answers PONG stays.
    let mut s = UnixStream::connect(&h.sock).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    s.write_all(&frame(
        PROG_REMOTE,
        p::CONNECT_SUPPORTS_FEATURE,
        0,
        MsgType::Call,
        &e.buf,
    ))
    .unwrap();
    let deadline = Instant::now() + Duration::from_millis(1200);
    while Instant::now() < deadline {
        let (m, _) = read_msg(&mut s).expect("connection dropped although PONGs were sent");
        if m.prog == PROG_KEEPALIVE && m.proc_ == packet::KEEPALIVE_PING {
            s.write_all(&frame(
                PROG_KEEPALIVE,
                packet::KEEPALIVE_PONG,
                0,
                MsgType::Message,
                &[],
            ))
            .unwrap();
        }
    }
}
