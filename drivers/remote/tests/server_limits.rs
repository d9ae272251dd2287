//! The daemon's limits (oxvirtd.toml) on the wire, against the fake driver: max_clients
//! and max_anonymous_clients refuse new clients with a reason while the others keep
//! being served, an anonymous client and a stalled partial frame are closed after the
//! incomplete-frame timeout, max_client_requests serialises one client's calls, and the
//! worker pool runs high-priority calls when every worker is stuck.

mod common;

use common::*;
use oxvirt_core::driver::{Connection, DomainSummary};
use oxvirt_driver_remote::client::RemoteConnection;
use oxvirt_driver_remote::packet::{MsgType, PROG_REMOTE};
use oxvirt_driver_remote::protocol::procs as p;
use oxvirt_driver_remote::server::{Limits, SocketPolicy};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

fn limits(f: impl FnOnce(&mut Limits)) -> Limits {
    let mut l = Limits::default();
    f(&mut l);
    l
}

/// AUTH_LIST on a fresh connection: the daemon's answer to a new client.
fn first_call(sock: &std::path::Path) -> Option<oxvirt_driver_remote::protocol::RemoteError> {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    error_of(&call(&mut s, PROG_REMOTE, p::AUTH_LIST, 0, &[]).expect("no answer"))
}

/// True when the server closes `s` within `within` (reads EOF).
fn closed_within(s: &mut UnixStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(_) => return false,
        }
    }
}

#[test]
fn max_clients_refuses_new_clients_with_the_reason() {
    let h = serve_with(
        Fake::default(),
        SocketPolicy::default(),
        limits(|l| l.max_clients = 2),
    );
    let mut a = open_with(&h.sock, 0);
    let b = open_with(&h.ro_sock, 0);
    let e = first_call(&h.sock).expect("a third client was served");
    assert_eq!(e.code, 87, "VIR_ERR_RESOURCE_BUSY");
    let msg = e.message.unwrap();
    assert!(msg.contains("max_clients = 2 (oxvirtd.toml)"), "{msg}");
    // Our client driver reports it.
    let c = RemoteConnection::connect("qemu:///system", &h.sock, "qemu:///system");
    assert!(c.err().unwrap().message.contains("too many clients"));
    // The connected ones are still served.
    let r = call(&mut a, PROG_REMOTE, p::CONNECT_GET_HOSTNAME, 5, &[]).unwrap();
    assert_eq!(error_of(&r), None);
    drop(b);
    let ok = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        h.server.clients() < 2
    });
    assert!(ok, "the closed client's place was not given back");
    assert_eq!(first_call(&h.sock), None);
}

#[test]
fn anonymous_clients_are_read_only_clients_before_connect_open() {
    let h = serve_with(
        Fake::default(),
        SocketPolicy::default(),
        limits(|l| l.max_anonymous_clients = 1),
    );
    let mut waiting = UnixStream::connect(&h.ro_sock).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let e = first_call(&h.ro_sock).expect("a second anonymous client was served");
    assert!(e.message.unwrap().contains("max_anonymous_clients = 1"));
    // Read-write clients are not anonymous.
    assert_eq!(first_call(&h.sock), None);
    // Once the first opens its connection, another read-only client may come.
    let mut e = oxvirt_driver_remote::xdr::Encoder::new();
    e.opt_string(Some("qemu:///system")).u32(0);
    waiting
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let r = call(&mut waiting, PROG_REMOTE, p::CONNECT_OPEN, 1, &e.buf).unwrap();
    assert_eq!(error_of(&r), None);
    assert_eq!(first_call(&h.ro_sock), None);
}

#[test]
fn stalled_frames_and_idle_anonymous_clients_are_closed_after_the_timeout() {
    let t = Duration::from_millis(400);
    let h = serve_with(
        Fake::default(),
        SocketPolicy::default(),
        limits(|l| l.frame_timeout = t),
    );
    // Half a header, then nothing (no keepalive asked for).
    let mut partial = UnixStream::connect(&h.sock).unwrap();
    partial.write_all(&[0, 0, 0, 28, 0x20, 0]).unwrap();
    let t0 = Instant::now();
    assert!(closed_within(&mut partial, Duration::from_secs(5)));
    assert!(t0.elapsed() >= t, "{:?}", t0.elapsed());
    // A read-only client that never opens.
    let mut idle = UnixStream::connect(&h.ro_sock).unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(5)));
    // An opened read-only client and an idle read-write one stay.
    let mut opened = open_with(&h.ro_sock, 0);
    let mut rw = UnixStream::connect(&h.sock).unwrap();
    assert!(!closed_within(&mut opened, 3 * t));
    assert!(!closed_within(&mut rw, Duration::from_millis(100)));
    let r = call(&mut opened, PROG_REMOTE, p::CONNECT_GET_HOSTNAME, 3, &[]).unwrap();
    assert_eq!(error_of(&r), None);
}

/// Define a domain "slow" whose start takes `delay`; its wire identity.
fn slow_domain(h: &Harness) -> DomainSummary {
    let c = RemoteConnection::connect("qemu:///system", &h.sock, "qemu:///system").unwrap();
    c.define_xml("<domain><name>slow</name></domain>").unwrap()
}

/// Send CREATE (slow) then a second call on one connection; the order of the replies.
fn reply_order(h: &Harness, second: i32, payload: &[u8]) -> Vec<i32> {
    let d = slow_domain(h);
    let mut s = open_with(&h.sock, 0);
    s.write_all(&frame(
        PROG_REMOTE,
        p::DOMAIN_CREATE,
        1,
        MsgType::Call,
        &dom_arg(&d).buf,
    ))
    .unwrap();
    s.write_all(&frame(PROG_REMOTE, second, 2, MsgType::Call, payload))
        .unwrap();
    let mut order = Vec::new();
    while order.len() < 2 {
        let (m, _) = read_msg(&mut s).expect("connection lost");
        if m.mtype == MsgType::Reply {
            order.push(m.proc_);
        }
    }
    order
}

#[test]
fn max_client_requests_bounds_one_clients_calls_in_flight() {
    let fake = || Fake {
        start_delay: Duration::from_millis(700),
        ..Default::default()
    };
    let one = serve_with(
        fake(),
        SocketPolicy::default(),
        limits(|l| l.max_client_requests = 1),
    );
    let host = p::CONNECT_GET_HOSTNAME;
    assert_eq!(reply_order(&one, host, &[]), [p::DOMAIN_CREATE, host]);
    let two = serve_with(
        fake(),
        SocketPolicy::default(),
        limits(|l| l.max_client_requests = 2),
    );
    assert_eq!(reply_order(&two, host, &[]), [host, p::DOMAIN_CREATE]);
}

#[test]
fn high_priority_calls_run_while_every_worker_is_stuck() {
    let h = serve_with(
        Fake {
            start_delay: Duration::from_millis(1500),
            ..Default::default()
        },
        SocketPolicy::default(),
        limits(|l| {
            (l.min_workers, l.max_workers, l.prio_workers) = (1, 1, 1);
        }),
    );
    let d = slow_domain(&h);
    let mut busy = open_with(&h.sock, 0);
    busy.write_all(&frame(
        PROG_REMOTE,
        p::DOMAIN_CREATE,
        1,
        MsgType::Call,
        &dom_arg(&d).buf,
    ))
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let t0 = Instant::now();
    // CONNECT_OPEN and DOMAIN_DESTROY are high priority: a priority worker runs them at
    // once.
    let mut other = open_with(&h.sock, 0);
    let r = call(
        &mut other,
        PROG_REMOTE,
        p::DOMAIN_DESTROY,
        2,
        &dom_arg(&d).buf,
    )
    .unwrap();
    assert!(
        t0.elapsed() < Duration::from_millis(900),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(error_of(&r), None);
    // DOMAIN_GET_INFO is low priority: it waits for the only worker.
    let r = call(
        &mut other,
        PROG_REMOTE,
        p::DOMAIN_GET_INFO,
        3,
        &dom_arg(&d).buf,
    )
    .unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(1100),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(error_of(&r), None);
}
