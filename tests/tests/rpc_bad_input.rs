//! End-to-end: raw sockets feed a real `oxvirtd` bad input (bad lengths and headers,
//! unknown programs and procedures, calls before CONNECT_OPEN, garbage arguments, a
//! client vanishing mid-message); each gets libvirt's answer or a closed connection, and
//! everyone else keeps being served.

mod rpc_common;

use rpc_common::{wait_until, Daemon};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// Send raw bytes as one client; returns what the server sent back before closing or
/// a 2 s silence.
fn raw_exchange(sock: &std::path::Path, bytes: &[u8]) -> Vec<u8> {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

fn frame(prog: u32, proc_: i32, serial: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((28 + payload.len()) as u32).to_be_bytes());
    for w in [prog, 1, proc_ as u32, 0, serial, 0] {
        v.extend_from_slice(&w.to_be_bytes());
    }
    v.extend_from_slice(payload);
    v
}

/// (status, error code) of the first reply in `bytes`.
fn reply_status(bytes: &[u8]) -> Option<(u32, i32)> {
    if bytes.len() < 32 {
        return None;
    }
    let w = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let status = w(24);
    let code = if status == 1 && bytes.len() >= 32 {
        w(28) as i32
    } else {
        0
    };
    Some((status, code))
}

#[test]
fn rpc_bad_input_gets_errors_and_the_daemon_keeps_serving() {
    let d = Daemon::start();
    let sock = d.socket();
    const REMOTE: u32 = 0x2000_8086;

    // Shorter than a header, and longer than 32 MiB: the connection is closed.
    assert!(raw_exchange(&sock, &[0, 0, 0, 8, 1, 2, 3, 4]).is_empty());
    assert!(raw_exchange(&sock, &[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]).is_empty());
    // Garbage type in the header: closed.
    let mut bad = frame(REMOTE, 66, 0, &[]);
    bad[16] = 0x55;
    assert!(raw_exchange(&sock, &bad).is_empty());

    // Unknown program, unknown procedure: VIR_ERR_RPC (39).
    assert_eq!(
        reply_status(&raw_exchange(&sock, &frame(0x1234_5678, 1, 0, &[]))),
        Some((1, 39))
    );
    assert_eq!(
        reply_status(&raw_exchange(&sock, &frame(REMOTE, 9999, 0, &[]))),
        Some((1, 39))
    );
    // A call before CONNECT_OPEN: internal error "connection not open".
    assert_eq!(
        reply_status(&raw_exchange(&sock, &frame(REMOTE, 3, 0, &[]))),
        Some((1, 1))
    );
    // Truncated / garbage XDR arguments: an RPC error reply, not a crash.
    let mut open = frame(REMOTE, 1, 0, &[0, 0, 0, 1, 0, 0, 0, 14]);
    open.extend_from_slice(b"qem");
    open[3] = open.len() as u8;
    assert_eq!(reply_status(&raw_exchange(&sock, &open)), Some((1, 39)));
    // AUTH_LIST works without opening.
    assert_eq!(
        reply_status(&raw_exchange(&sock, &frame(REMOTE, 66, 0, &[]))),
        Some((0, 0))
    );
    // A keepalive PING is answered with PONG.
    let mut ping = frame(0x6b65_6570, 1, 0, &[]);
    ping[19] = 2; // MESSAGE
    let pong = raw_exchange(&sock, &ping);
    assert!(pong.len() >= 28 && pong[15] == 2, "{pong:?}");
    // A client vanishing mid-message.
    {
        let mut s = UnixStream::connect(&sock).unwrap();
        s.write_all(&[0, 0, 1, 0, 0x20, 0, 0x80]).unwrap();
    }

    // Everyone else is still served.
    assert!(!d.ok(&["hostname"]).trim().is_empty());
    assert!(d.ok(&["list", "--all"]).contains("Name"));
    // And every connection's tasks ended (no leaked writer per client).
    let count = |what: &str| d.log().matches(what).count();
    assert!(
        wait_until(Duration::from_secs(5), || count("client connected")
            == count("client disconnected")),
        "connected {} vs disconnected {}",
        count("client connected"),
        count("client disconnected")
    );
    assert!(count("client connected") >= 10);
}
