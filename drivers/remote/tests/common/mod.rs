//! Shared by the server tests: an in-memory fake `Connection` (no QEMU), a server on
//! temp sockets, and raw-socket helpers that speak the wire protocol.

#![allow(dead_code)]

use oxvirt_core::driver::{
    Connection, DomainInfo, DomainKey, DomainState, DomainSummary, ListFilter, SecurityInfo,
    StateReason, XmlFlags,
};
use oxvirt_core::{Error, Result};
use oxvirt_driver_remote::packet::{self, Header, MsgType, PROG_REMOTE};
use oxvirt_driver_remote::protocol::procs as p;
use oxvirt_driver_remote::protocol::RemoteError;
use oxvirt_driver_remote::server::{Instance, Limits, Server, SocketPolicy};
use oxvirt_driver_remote::xdr::{Decoder, Encoder};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Domains in memory; `start` takes `start_delay`.
#[derive(Default)]
pub struct Fake {
    pub doms: Mutex<Vec<DomainSummary>>,
    pub next_id: Mutex<u32>,
    pub start_delay: Duration,
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

pub struct Harness {
    _dir: tempfile::TempDir,
    /// The socket `policy` applies to.
    pub sock: PathBuf,
    /// A read-only socket of the same server (anyone may connect).
    pub ro_sock: PathBuf,
    pub server: Arc<Server>,
    _rt: tokio::runtime::Runtime,
}

pub fn serve(fake: Fake, policy: SocketPolicy) -> Harness {
    serve_with(fake, policy, Limits::default())
}

/// A server with `limits`, serving `policy` on `sock` and a read-only socket `ro_sock`.
pub fn serve_with(fake: Fake, policy: SocketPolicy, limits: Limits) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("sock");
    let ro_sock = dir.path().join("sock-ro");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = Server::with_limits(Arc::new(fake), Instance::System, None, limits);
    server.prime_events();
    rt.block_on(async {
        let l = tokio::net::UnixListener::bind(&sock).unwrap();
        tokio::spawn(server.clone().serve(l, policy));
        let ro = tokio::net::UnixListener::bind(&ro_sock).unwrap();
        let ro_policy = SocketPolicy {
            read_only: true,
            allowed_uids: vec![],
        };
        tokio::spawn(server.clone().serve(ro, ro_policy));
    });
    Harness {
        _dir: dir,
        sock,
        ro_sock,
        server,
        _rt: rt,
    }
}

pub fn frame(prog: u32, proc_: i32, serial: u32, mtype: MsgType, payload: &[u8]) -> Vec<u8> {
    let mut h = Header::call(prog, proc_, serial);
    h.mtype = mtype;
    packet::encode(&h, payload)
}

pub fn read_msg(s: &mut UnixStream) -> Option<(Header, Vec<u8>)> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let n = packet::body_len(u32::from_be_bytes(len)).ok()?;
    let mut body = vec![0u8; n];
    s.read_exact(&mut body).ok()?;
    let (h, pl) = packet::decode(&body).ok()?;
    Some((h, pl.to_vec()))
}

pub fn open_raw(sock: &Path) -> UnixStream {
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

/// Send one CALL on `s` and read until its REPLY (skipping events and PINGs).
pub fn call(
    s: &mut UnixStream,
    prog: u32,
    proc_: i32,
    serial: u32,
    payload: &[u8],
) -> Option<(Header, Vec<u8>)> {
    s.write_all(&frame(prog, proc_, serial, MsgType::Call, payload))
        .ok()?;
    loop {
        let (h, pl) = read_msg(s)?;
        if h.mtype == MsgType::Reply && h.serial == serial {
            return Some((h, pl));
        }
    }
}

/// The `remote_error` of a REPLY, or `None` for a success.
pub fn error_of(reply: &(Header, Vec<u8>)) -> Option<RemoteError> {
    (reply.0.status == packet::Status::Error)
        .then(|| RemoteError::decode(&mut Decoder::new(&reply.1)).unwrap())
}

/// A connection that opened `qemu:///system` with CONNECT_OPEN `flags` (1 = read-only).
pub fn open_with(sock: &Path, flags: u32) -> UnixStream {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut e = Encoder::new();
    e.opt_string(Some("qemu:///system")).u32(flags);
    let r = call(&mut s, PROG_REMOTE, p::CONNECT_OPEN, 0, &e.buf).unwrap();
    assert_eq!(error_of(&r), None);
    s
}

/// `remote_nonnull_domain` of a summary, as an argument.
pub fn dom_arg(d: &DomainSummary) -> Encoder {
    let mut e = Encoder::new();
    oxvirt_driver_remote::events::remote_domain(d).encode(&mut e);
    e
}
