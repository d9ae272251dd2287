//! The server and the client driver against an in-memory fake `Connection` (no QEMU):
//! the client's API round trip, keepalive answered while a slow call runs, SO_PEERCRED
//! policy, a client vanishing mid-call, read-only policy.

use oxvirt_core::driver::{
    Connection, DomainInfo, DomainKey, DomainState, DomainSummary, ListFilter, SecurityInfo,
    StateReason, XmlFlags,
};
use oxvirt_core::{Error, ErrorCode, Result};
use oxvirt_driver_remote::client::RemoteConnection;
use oxvirt_driver_remote::packet::{self, Header, MsgType, PROG_KEEPALIVE, PROG_REMOTE};
use oxvirt_driver_remote::protocol::procs as p;
use oxvirt_driver_remote::server::{Instance, Server, SocketPolicy};
use oxvirt_driver_remote::xdr::Encoder;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Domains in memory; `start` takes `start_delay`.
#[derive(Default)]
struct Fake {
    doms: Mutex<Vec<DomainSummary>>,
    next_id: Mutex<u32>,
    start_delay: Duration,
}

impl Fake {
    fn find(&self, key: &DomainKey) -> Result<DomainSummary> {
        self.doms
            .lock()
            .unwrap()
            .iter()
            .find(|d| match key {
                DomainKey::Name(n) => &d.name == n,
                DomainKey::Uuid(u) => &d.uuid == u,
                DomainKey::Id(i) => d.id == Some(*i),
            })
            .cloned()
            .ok_or_else(|| Error::no_domain(&key.to_string()))
    }
    fn update(&self, key: &DomainKey, f: impl FnOnce(&mut DomainSummary)) -> Result<()> {
        let s = self.find(key)?;
        let mut doms = self.doms.lock().unwrap();
        f(doms.iter_mut().find(|d| d.uuid == s.uuid).unwrap());
        Ok(())
    }
}

impl Connection for Fake {
    fn uri(&self) -> String {
        "fake:///".into()
    }
    fn hypervisor_type(&self) -> &'static str {
        "QEMU"
    }
    fn hypervisor_version(&self) -> Result<u64> {
        Ok(7_002_000)
    }
    fn list(&self, filter: ListFilter) -> Result<Vec<DomainSummary>> {
        Ok(self
            .doms
            .lock()
            .unwrap()
            .iter()
            .filter(|d| {
                if d.state.is_active() {
                    filter.active
                } else {
                    filter.inactive
                }
            })
            .cloned()
            .collect())
    }
    fn lookup(&self, key: &DomainKey) -> Result<DomainSummary> {
        self.find(key)
    }
    fn define_xml(&self, xml: &str) -> Result<DomainSummary> {
        let name = xml
            .split("<name>")
            .nth(1)
            .and_then(|r| r.split("</name>").next())
            .ok_or_else(|| Error::xml("no name"))?
            .to_string();
        if let Ok(s) = self.find(&DomainKey::Name(name.clone())) {
            return Ok(s);
        }
        let s = DomainSummary {
            name,
            uuid: uuid::Uuid::new_v4(),
            id: None,
            state: DomainState::Shutoff,
            reason: StateReason::Unknown,
            persistent: true,
        };
        self.doms.lock().unwrap().push(s.clone());
        Ok(s)
    }
    fn undefine(&self, key: &DomainKey) -> Result<()> {
        let s = self.find(key)?;
        self.doms.lock().unwrap().retain(|d| d.uuid != s.uuid);
        Ok(())
    }
    fn create_xml(&self, _xml: &str) -> Result<DomainSummary> {
        Err(Error::unsupported("no"))
    }
    fn start(&self, key: &DomainKey) -> Result<DomainSummary> {
        std::thread::sleep(self.start_delay);
        let id = {
            let mut n = self.next_id.lock().unwrap();
            *n += 1;
            *n
        };
        self.update(key, |d| {
            d.id = Some(id);
            d.state = DomainState::Running;
            d.reason = StateReason::Booted;
        })?;
        self.find(key)
    }
    fn shutdown(&self, key: &DomainKey) -> Result<()> {
        self.destroy(key)
    }
    fn destroy(&self, key: &DomainKey) -> Result<()> {
        self.update(key, |d| {
            d.id = None;
            d.state = DomainState::Shutoff;
            d.reason = StateReason::Destroyed;
        })
    }
    fn suspend(&self, key: &DomainKey) -> Result<()> {
        self.update(key, |d| {
            d.state = DomainState::Paused;
            d.reason = StateReason::User;
        })
    }
    fn resume(&self, key: &DomainKey) -> Result<()> {
        self.update(key, |d| {
            d.state = DomainState::Running;
            d.reason = StateReason::Unpaused;
        })
    }
    fn info(&self, key: &DomainKey) -> Result<DomainInfo> {
        Ok(DomainInfo {
            summary: self.find(key)?,
            os_type: "hvm".into(),
            max_mem_kib: 262144,
            memory_kib: 262144,
            vcpus: 2,
            cpu_time_ns: 5,
            autostart: false,
            security: vec![SecurityInfo {
                model: "none".into(),
                doi: "0".into(),
                label: None,
            }],
        })
    }
    fn xml(&self, key: &DomainKey, _flags: XmlFlags) -> Result<String> {
        let s = self.find(key)?;
        Ok(format!("<domain><name>{}</name></domain>", s.name))
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    sock: PathBuf,
    _rt: tokio::runtime::Runtime,
}

fn serve(fake: Fake, policy: SocketPolicy) -> Harness {
    serve_with(fake, policy, |_| {})
}

fn serve_with(fake: Fake, policy: SocketPolicy, setup: impl FnOnce(&Server)) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("sock");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = Server::new(Arc::new(fake), Instance::System);
    setup(&server);
    server.prime_events();
    let s2 = sock.clone();
    rt.block_on(async {
        let l = tokio::net::UnixListener::bind(&s2).unwrap();
        tokio::spawn(server.serve(l, policy));
    });
    Harness {
        _dir: dir,
        sock,
        _rt: rt,
    }
}

fn frame(prog: u32, proc_: i32, serial: u32, mtype: MsgType, payload: &[u8]) -> Vec<u8> {
    let mut h = Header::call(prog, proc_, serial);
    h.mtype = mtype;
    packet::encode(&h, payload)
}

fn read_msg(s: &mut UnixStream) -> Option<(Header, Vec<u8>)> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let n = packet::body_len(u32::from_be_bytes(len)).ok()?;
    let mut body = vec![0u8; n];
    s.read_exact(&mut body).ok()?;
    let (h, pl) = packet::decode(&body).ok()?;
    Some((h, pl.to_vec()))
}

fn open_raw(sock: &Path) -> UnixStream {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut e = Encoder::new();
    e.opt_string(Some("qemu:///system")).u32(0);
    s.write_all(&frame(
        PROG_REMOTE,
        p::CONNECT_OPEN,
        0,
        MsgType::Call,
        &e.buf,
    ))
    .unwrap();
    let (h, _) = read_msg(&mut s).unwrap();
    assert_eq!(h.status, packet::Status::Ok);
    s
}

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
    let h = serve_with(Fake::default(), SocketPolicy::default(), |s| {
        s.set_keepalive(Duration::from_millis(200), 2)
    });
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
