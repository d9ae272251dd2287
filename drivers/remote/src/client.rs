//! The client side: a [`Connection`] that speaks libvirt's RPC over a unix socket, to
//! `oxvirtd` or to a real libvirtd/virtqemud. Registered for `qemu+unix:///system`,
//! `qemu+unix:///session` (both with an optional `?socket=PATH`), `qemu:///system` and
//! `qemu:///session` (`qemu:///embed` stays with the QEMU driver).
//!
//! Default sockets: system → `/run/oxvirt/oxvirt-sock`, else libvirt's
//! `/run/libvirt/virtqemud-sock` or `/run/libvirt/libvirt-sock` if those exist; session →
//! `$XDG_RUNTIME_DIR/oxvirt/oxvirt-sock`. One call at a time (a mutex around the socket);
//! keepalive PINGs from the server are answered while waiting for a reply, event
//! MESSAGEs are skipped. Must not touch: anything but the socket.

use crate::packet::{self, Header, MsgType, Status, PROG_QEMU, PROG_REMOTE};
use crate::protocol::procs as p;
use crate::protocol::{err, DomainInfoRet, RemoteDomain, RemoteError, DOMAIN_LIST_MAX};
use crate::xdr::{Decoder, Encoder, XdrError};
use oxvirt_core::driver::{
    Connection, DomainInfo, DomainKey, DomainState, DomainSummary, ListFilter, SecurityInfo,
    StateReason, XmlFlags,
};
use oxvirt_core::uri::ConnectUri;
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Mutex;

/// An open RPC connection.
pub struct RemoteConnection {
    uri: String,
    inner: Mutex<Inner>,
}

struct Inner {
    stream: UnixStream,
    serial: u32,
}

fn rpc_error(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InternalError, ErrorDomain::Rpc, msg)
}

fn xdr_err(e: XdrError) -> Error {
    rpc_error(format!("cannot decode the server's reply: {e}"))
}

/// Our error from the server's `remote_error`, keeping libvirt's code where we name it.
fn from_remote(e: RemoteError) -> Error {
    use ErrorCode::*;
    let code = match e.code {
        1 => InternalError,
        3 => NoSupport,
        7 => InvalidDomain,
        8 => InvalidArg,
        9 => OperationFailed,
        27 => XmlError,
        35 => XmlDetail,
        38 => SystemError,
        42 => NoDomain,
        52 => DomainExists,
        55 => OperationInvalid,
        67 => ConfigUnsupported,
        68 => OperationTimeout,
        75 => SecurityError,
        77 => ConfNotFound,
        86 => AgentUnresponsive,
        _ => InternalError,
    };
    let domain = match e.domain {
        7 => ErrorDomain::Rpc,
        10 => ErrorDomain::Qemu,
        12 => ErrorDomain::Domain,
        14 => ErrorDomain::Conf,
        20 => ErrorDomain::Dom,
        24 => ErrorDomain::Security,
        28 => ErrorDomain::Config,
        _ => ErrorDomain::None,
    };
    let message = e.message.unwrap_or_else(|| "unknown error".into());
    if e.code == err::RPC && message.starts_with("unknown procedure") {
        // As libvirt's client does: the server lacks this API.
        return Error::new(
            NoSupport,
            domain,
            format!("this function is not supported by the connection driver: {message}"),
        );
    }
    Error::new(code, domain, message)
}

/// Where the socket for `uri` is.
fn socket_path(uri: &ConnectUri) -> Result<PathBuf> {
    if let Some(s) = uri.param("socket") {
        return Ok(PathBuf::from(s));
    }
    if uri.path == "session" {
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .ok_or_else(|| {
                Error::invalid_arg("neither XDG_RUNTIME_DIR nor HOME is set; add ?socket=PATH")
            })?;
        return Ok(base.join("oxvirt/oxvirt-sock"));
    }
    let candidates = [
        "/run/oxvirt/oxvirt-sock",
        "/run/libvirt/virtqemud-sock",
        "/run/libvirt/libvirt-sock",
    ];
    Ok(PathBuf::from(
        candidates
            .iter()
            .find(|c| std::path::Path::new(c).exists())
            .copied()
            .unwrap_or(candidates[0]),
    ))
}

impl RemoteConnection {
    /// Connect to `socket` and open `name` (e.g. `qemu:///system`) on it.
    pub fn connect(uri: &str, socket: &std::path::Path, name: &str) -> Result<RemoteConnection> {
        let stream = UnixStream::connect(socket).map_err(|e| {
            Error::new(
                ErrorCode::SystemError,
                ErrorDomain::Rpc,
                format!(
                    "Failed to connect socket to '{}': {e} (is oxvirtd running?)",
                    socket.display()
                ),
            )
        })?;
        let conn = RemoteConnection {
            uri: uri.to_string(),
            inner: Mutex::new(Inner { stream, serial: 0 }),
        };
        let auth = conn.call(PROG_REMOTE, p::AUTH_LIST, &[])?;
        let mut d = Decoder::new(&auth);
        let n = d
            .count(crate::protocol::AUTH_TYPE_LIST_MAX, 4)
            .map_err(xdr_err)?;
        let mut types = Vec::new();
        for _ in 0..n {
            types.push(d.i32().map_err(xdr_err)?);
        }
        if !types.is_empty() && !types.contains(&0) {
            return Err(Error::new(
                ErrorCode::InternalError,
                ErrorDomain::Rpc,
                format!(
                    "the server at '{}' requires authentication ({types:?}), which oxvirt's \
                     client does not support; use a socket with auth none",
                    socket.display()
                ),
            ));
        }
        let mut e = Encoder::new();
        e.opt_string(Some(name)).u32(0);
        conn.call(PROG_REMOTE, p::CONNECT_OPEN, &e.buf)?;
        Ok(conn)
    }

    /// One call: send, then read until the matching REPLY.
    pub fn call(&self, prog: u32, proc_: i32, args: &[u8]) -> Result<Vec<u8>> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let serial = g.serial;
        g.serial = g.serial.wrapping_add(1);
        let frame = packet::encode(&Header::call(prog, proc_, serial), args);
        let lost = |e: std::io::Error| rpc_error(format!("connection to the daemon lost: {e}"));
        g.stream.write_all(&frame).map_err(lost)?;
        loop {
            let mut len = [0u8; 4];
            g.stream.read_exact(&mut len).map_err(lost)?;
            let n =
                packet::body_len(u32::from_be_bytes(len)).map_err(|e| rpc_error(e.to_string()))?;
            let mut body = Vec::with_capacity(n.min(65536));
            (&mut g.stream)
                .take(n as u64)
                .read_to_end(&mut body)
                .map_err(lost)?;
            if body.len() != n {
                return Err(rpc_error("connection to the daemon lost mid-message"));
            }
            let (h, payload) = packet::decode(&body).map_err(|e| rpc_error(e.to_string()))?;
            if h.prog == packet::PROG_KEEPALIVE {
                if h.proc_ == packet::KEEPALIVE_PING {
                    let pong = Header::message(packet::PROG_KEEPALIVE, packet::KEEPALIVE_PONG, 0);
                    g.stream
                        .write_all(&packet::encode(&pong, &[]))
                        .map_err(lost)?;
                }
                continue;
            }
            if h.mtype != MsgType::Reply || h.serial != serial {
                continue; // events and strays
            }
            if h.proc_ != proc_ || h.prog != prog {
                return Err(rpc_error(format!(
                    "reply for procedure {} to a call of {proc_}",
                    h.proc_
                )));
            }
            return match h.status {
                Status::Ok => Ok(payload.to_vec()),
                _ => Err(from_remote(
                    RemoteError::decode(&mut Decoder::new(payload)).map_err(xdr_err)?,
                )),
            };
        }
    }

    fn call_remote(&self, proc_: i32, f: impl FnOnce(&mut Encoder)) -> Result<Vec<u8>> {
        let mut e = Encoder::new();
        f(&mut e);
        self.call(PROG_REMOTE, proc_, &e.buf)
    }

    fn ret_string(&self, proc_: i32, f: impl FnOnce(&mut Encoder)) -> Result<String> {
        let r = self.call_remote(proc_, f)?;
        Decoder::new(&r).string().map_err(xdr_err)
    }

    fn ret_i32(&self, proc_: i32, f: impl FnOnce(&mut Encoder)) -> Result<i32> {
        let r = self.call_remote(proc_, f)?;
        Decoder::new(&r).i32().map_err(xdr_err)
    }

    fn ret_dom(&self, proc_: i32, f: impl FnOnce(&mut Encoder)) -> Result<RemoteDomain> {
        let r = self.call_remote(proc_, f)?;
        RemoteDomain::decode(&mut Decoder::new(&r)).map_err(xdr_err)
    }

    fn resolve(&self, key: &DomainKey) -> Result<RemoteDomain> {
        match key {
            DomainKey::Name(n) => self.ret_dom(p::DOMAIN_LOOKUP_BY_NAME, |e| {
                e.string(n);
            }),
            DomainKey::Uuid(u) => self.ret_dom(p::DOMAIN_LOOKUP_BY_UUID, |e| {
                e.fixed_opaque(u.as_bytes());
            }),
            DomainKey::Id(i) => self.ret_dom(p::DOMAIN_LOOKUP_BY_ID, |e| {
                e.i32(*i as i32);
            }),
        }
    }

    fn summary(&self, dom: &RemoteDomain) -> Result<DomainSummary> {
        let r = self.call_remote(p::DOMAIN_GET_STATE, |e| {
            dom.encode(e);
            e.u32(0);
        })?;
        let mut d = Decoder::new(&r);
        let state = DomainState::from_number(d.i32().map_err(xdr_err)?);
        let reason = reason_from(state, d.i32().map_err(xdr_err)?);
        let persistent = self.ret_i32(p::DOMAIN_IS_PERSISTENT, |e| dom.encode(e))? != 0;
        Ok(DomainSummary {
            name: dom.name.clone(),
            uuid: uuid::Uuid::from_bytes(dom.uuid),
            id: u32::try_from(dom.id).ok(),
            state,
            reason,
            persistent,
        })
    }

    fn void_dom(&self, proc_: i32, key: &DomainKey, flags: Option<u32>) -> Result<()> {
        let dom = self.resolve(key)?;
        self.call_remote(proc_, |e| {
            dom.encode(e);
            if let Some(f) = flags {
                e.u32(f);
            }
        })?;
        Ok(())
    }
}

impl Drop for RemoteConnection {
    fn drop(&mut self) {
        // A hung daemon must not hang the program at exit.
        if let Ok(g) = self.inner.lock() {
            let _ = g
                .stream
                .set_read_timeout(Some(std::time::Duration::from_secs(5)));
        }
        let _ = self.call(PROG_REMOTE, p::CONNECT_CLOSE, &[]);
    }
}

/// libvirt's per-state reason numbers back to ours (unknown where we have no name).
fn reason_from(state: DomainState, n: i32) -> StateReason {
    use StateReason as R;
    match (state, n) {
        (DomainState::Running, 1) => R::Booted,
        (DomainState::Running, 3) => R::Unpaused,
        (DomainState::Paused, 2) => R::User,
        (DomainState::Paused, 11) => R::StartingUp,
        (DomainState::Paused, 8) => R::PausedShuttingDown,
        (DomainState::Shutdown, 1) => R::ShutdownUser,
        (DomainState::Shutoff, 1) => R::Shutdown,
        (DomainState::Shutoff, 2) => R::Destroyed,
        (DomainState::Shutoff, 3) => R::Crashed,
        (DomainState::Shutoff, 6) => R::Failed,
        (DomainState::Crashed, 1) => R::Panicked,
        _ => R::Unknown,
    }
}

impl Connection for RemoteConnection {
    fn uri(&self) -> String {
        self.uri.clone()
    }
    fn hypervisor_type(&self) -> &'static str {
        "QEMU"
    }
    fn hypervisor_version(&self) -> Result<u64> {
        let r = self.call_remote(p::CONNECT_GET_VERSION, |_| {})?;
        Decoder::new(&r).u64().map_err(xdr_err)
    }
    fn list(&self, filter: ListFilter) -> Result<Vec<DomainSummary>> {
        use crate::protocol::procs::list_flags::{ACTIVE, INACTIVE};
        let mut flags = 0;
        if filter.active {
            flags |= ACTIVE;
        }
        if filter.inactive {
            flags |= INACTIVE;
        }
        if flags == 0 {
            return Ok(Vec::new());
        }
        let r = self.call_remote(p::CONNECT_LIST_ALL_DOMAINS, |e| {
            e.i32(1).u32(flags);
        })?;
        let mut d = Decoder::new(&r);
        let n = d.count(DOMAIN_LIST_MAX, 24).map_err(xdr_err)?;
        let mut doms = Vec::with_capacity(n);
        for _ in 0..n {
            doms.push(RemoteDomain::decode(&mut d).map_err(xdr_err)?);
        }
        let mut out = Vec::with_capacity(n);
        for dom in &doms {
            match self.summary(dom) {
                Ok(s) => out.push(s),
                // Gone between the list and the state call.
                Err(e) if e.code == ErrorCode::NoDomain => {}
                Err(e) => return Err(e),
            }
        }
        oxvirt_core::driver::sort_for_listing(&mut out);
        Ok(out)
    }
    fn lookup(&self, key: &DomainKey) -> Result<DomainSummary> {
        let dom = self.resolve(key)?;
        self.summary(&dom)
    }
    fn define_xml(&self, xml: &str) -> Result<DomainSummary> {
        let dom = self.ret_dom(p::DOMAIN_DEFINE_XML, |e| {
            e.string(xml);
        })?;
        self.summary(&dom)
    }
    fn undefine(&self, key: &DomainKey) -> Result<()> {
        self.void_dom(p::DOMAIN_UNDEFINE_FLAGS, key, Some(0))
    }
    fn create_xml(&self, xml: &str) -> Result<DomainSummary> {
        let dom = self.ret_dom(p::DOMAIN_CREATE_XML, |e| {
            e.string(xml).u32(0);
        })?;
        self.summary(&dom)
    }
    fn start(&self, key: &DomainKey) -> Result<DomainSummary> {
        let dom = self.resolve(key)?;
        self.call_remote(p::DOMAIN_CREATE, |e| dom.encode(e))?;
        // As libvirt's client does: the id is learnt by a lookup by uuid.
        self.lookup(&DomainKey::Uuid(uuid::Uuid::from_bytes(dom.uuid)))
    }
    fn shutdown(&self, key: &DomainKey) -> Result<()> {
        self.void_dom(p::DOMAIN_SHUTDOWN, key, None)
    }
    fn destroy(&self, key: &DomainKey) -> Result<()> {
        self.void_dom(p::DOMAIN_DESTROY, key, None)
    }
    fn suspend(&self, key: &DomainKey) -> Result<()> {
        self.void_dom(p::DOMAIN_SUSPEND, key, None)
    }
    fn resume(&self, key: &DomainKey) -> Result<()> {
        self.void_dom(p::DOMAIN_RESUME, key, None)
    }
    fn info(&self, key: &DomainKey) -> Result<DomainInfo> {
        let dom = self.resolve(key)?;
        let summary = self.summary(&dom)?;
        let r = self.call_remote(p::DOMAIN_GET_INFO, |e| dom.encode(e))?;
        let i = DomainInfoRet::decode(&mut Decoder::new(&r)).map_err(xdr_err)?;
        let os_type = self.ret_string(p::DOMAIN_GET_OS_TYPE, |e| dom.encode(e))?;
        let autostart = self.ret_i32(p::DOMAIN_GET_AUTOSTART, |e| dom.encode(e))? != 0;
        let mut security = Vec::new();
        if let Ok(r) = self.call_remote(p::NODE_GET_SECURITY_MODEL, |_| {}) {
            let mut d = Decoder::new(&r);
            let model = d
                .var_chars(crate::protocol::SECURITY_MODEL_MAX)
                .map_err(xdr_err)?;
            let doi = d
                .var_chars(crate::protocol::SECURITY_MODEL_MAX)
                .map_err(xdr_err)?;
            if !model.is_empty() {
                let label = self
                    .call_remote(p::DOMAIN_GET_SECURITY_LABEL, |e| dom.encode(e))
                    .ok()
                    .and_then(|r| {
                        Decoder::new(&r)
                            .var_chars(crate::protocol::SECURITY_LABEL_MAX)
                            .ok()
                    })
                    .filter(|l| !l.is_empty());
                security.push(SecurityInfo { model, doi, label });
            }
        }
        Ok(DomainInfo {
            summary,
            os_type,
            max_mem_kib: i.max_mem,
            memory_kib: i.memory,
            vcpus: i.nr_virt_cpu as u32,
            cpu_time_ns: i.cpu_time,
            autostart,
            security,
        })
    }
    fn xml(&self, key: &DomainKey, flags: XmlFlags) -> Result<String> {
        let dom = self.resolve(key)?;
        let f = (flags.secure as u32) | ((flags.inactive as u32) << 1);
        self.ret_string(p::DOMAIN_GET_XML_DESC, |e| {
            dom.encode(e);
            e.u32(f);
        })
    }
    fn hostname(&self) -> Result<String> {
        self.ret_string(p::CONNECT_GET_HOSTNAME, |_| {})
    }
    fn capabilities(&self) -> Result<String> {
        self.ret_string(p::CONNECT_GET_CAPABILITIES, |_| {})
    }
    fn domain_capabilities(
        &self,
        emulator: Option<&str>,
        arch: Option<&str>,
        machine: Option<&str>,
        virttype: Option<&str>,
    ) -> Result<String> {
        self.ret_string(p::CONNECT_GET_DOMAIN_CAPABILITIES, |e| {
            e.opt_string(emulator)
                .opt_string(arch)
                .opt_string(machine)
                .opt_string(virttype)
                .u32(0);
        })
    }
    fn xml_to_native(&self, format: &str, xml: &str) -> Result<String> {
        self.ret_string(p::CONNECT_DOMAIN_XML_TO_NATIVE, |e| {
            e.string(format).string(xml).u32(0);
        })
    }
    fn xml_from_native(&self, format: &str, native: &str) -> Result<String> {
        self.ret_string(p::CONNECT_DOMAIN_XML_FROM_NATIVE, |e| {
            e.string(format).string(native).u32(0);
        })
    }
    fn security_model(&self) -> Result<Option<(String, String)>> {
        let r = self.call_remote(p::NODE_GET_SECURITY_MODEL, |_| {})?;
        let mut d = Decoder::new(&r);
        let model = d
            .var_chars(crate::protocol::SECURITY_MODEL_MAX)
            .map_err(xdr_err)?;
        let doi = d
            .var_chars(crate::protocol::SECURITY_MODEL_MAX)
            .map_err(xdr_err)?;
        Ok((!model.is_empty()).then_some((model, doi)))
    }
    fn monitor_command(&self, key: &DomainKey, command: &str, hmp: bool) -> Result<String> {
        let dom = self.resolve(key)?;
        let mut e = Encoder::new();
        dom.encode(&mut e);
        e.string(command).u32(hmp as u32);
        let r = self.call(PROG_QEMU, p::QEMU_DOMAIN_MONITOR_COMMAND, &e.buf)?;
        Decoder::new(&r).string().map_err(xdr_err)
    }
}

/// The registry hook: daemon URIs for the QEMU driver.
fn open_uri(uri: &ConnectUri) -> Result<Option<Box<dyn Connection>>> {
    if uri.driver != "qemu" || uri.host.is_some() {
        return Ok(None);
    }
    let ours = match uri.transport.as_deref() {
        None | Some("unix") => uri.path == "system" || uri.path == "session",
        _ => false,
    };
    if !ours {
        return Ok(None);
    }
    let socket = socket_path(uri)?;
    let name = format!("qemu:///{}", uri.path);
    Ok(Some(Box::new(RemoteConnection::connect(
        &uri.original,
        &socket,
        &name,
    )?)))
}

oxvirt_core::inventory::submit! {
    oxvirt_core::registry::DriverRegistration { name: "remote", open: open_uri }
}
