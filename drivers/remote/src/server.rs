//! The daemon side of libvirt's RPC: accept connections on a unix socket, read frames,
//! dispatch calls to a hosted [`Connection`], write replies, keepalive PONGs and event
//! MESSAGEs.
//!
//! Per client connection: one reader loop (this task), one writer task fed by a channel
//! (so replies, PONGs and events never interleave bytes), one event-forwarding task, and
//! every CALL runs in its own `spawn_blocking` task because driver methods block. So a
//! PING is answered while a slow `start` runs, and replies may leave out of order
//! (clients match them by serial).
//!
//! Bad input: a length word below the header size or above 32 MiB, or an undecodable
//! header, closes that connection; an unknown program/procedure, undecodable arguments or
//! a call before CONNECT_OPEN gets libvirt's error reply. Other connections are not
//! affected. Must not touch: the driver's files; it only calls the `Connection` trait.

use crate::events::{remote_domain, DomainEvent, EventBus};
use crate::packet::{self, Header, MsgType, Status};
use crate::protocol::procs::{self as p, feature, list_flags};
use crate::protocol::{err, DomainInfoRet, LifecycleMsg, NodeInfo, RemoteDomain, RemoteError};
use crate::xdr::{Decoder, Encoder, XdrError};
use oxvirt_core::driver::{Connection, DomainKey, DomainState, ListFilter, XmlFlags};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, Notify, Semaphore};

/// Calls one client may have in flight (libvirtd's `max_client_requests` is 5); at the
/// limit the reader stops reading that client until a call finishes.
pub const MAX_CALLS_PER_CLIENT: usize = 32;

/// Which daemon instance this is; decides the URI clients may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instance {
    System,
    Session,
}

impl Instance {
    pub fn uri(self) -> &'static str {
        match self {
            Instance::System => "qemu:///system",
            Instance::Session => "qemu:///session",
        }
    }
}

/// Per-socket policy.
#[derive(Debug, Clone, Default)]
pub struct SocketPolicy {
    /// Every call that changes state is refused (the `-ro` socket).
    pub read_only: bool,
    /// Only these peer uids may connect (checked with SO_PEERCRED); empty = anyone who
    /// can open the socket file.
    pub allowed_uids: Vec<u32>,
}

/// Opens a connection for a URI that is not the instance's own (`test:///default` from a
/// driver plugin): one connection per client that opens it.
pub type Opener = Arc<dyn Fn(&str) -> oxvirt_core::Result<Box<dyn Connection>> + Send + Sync>;

/// What the daemon serves: one hosted driver connection shared by every client that
/// opens the instance's URI, plus per-client connections to other drivers through
/// `other` (events are only produced for the shared one).
pub struct Server {
    conn: Arc<dyn Connection>,
    instance: Instance,
    bus: EventBus,
    hv_version: OnceLock<u64>,
    other: Option<Opener>,
    /// Server PINGs: interval and how many unanswered ones close the connection.
    keepalive: OnceLock<(std::time::Duration, u32)>,
}

/// libvirtd's defaults (`keepalive_interval`, `keepalive_count`).
pub const KEEPALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
pub const KEEPALIVE_COUNT: u32 = 5;

enum Out {
    Frame(Vec<u8>),
    Close,
}

/// A registered event callback: (eventID, optional domain uuid filter).
type Callback = (i32, Option<[u8; 16]>);

/// One client connection's state.
struct Client {
    opened: AtomicBool,
    /// The connection CONNECT_OPEN chose, and whether it is the shared one.
    conn: OnceLock<(Arc<dyn Connection>, bool)>,
    read_only: AtomicBool,
    /// callbackID → (eventID, domain filter).
    callbacks: Mutex<HashMap<i32, Callback>>,
    next_callback: AtomicI32,
    tx: mpsc::UnboundedSender<Out>,
    /// Wakes the reader to end the connection (writer gone, keepalive timeout).
    closing: Arc<Notify>,
    /// The client asked for PROGRAM_KEEPALIVE: the server pings it when idle.
    keepalive: AtomicBool,
    /// When the client last sent anything.
    last_rx: Mutex<std::time::Instant>,
}

/// A failed call: the `remote_error` to send.
struct CallErr(RemoteError);

impl From<XdrError> for CallErr {
    fn from(e: XdrError) -> Self {
        CallErr(RemoteError::new(
            err::RPC,
            err::FROM_RPC,
            format!("Unable to decode message payload: {e}"),
        ))
    }
}

impl From<oxvirt_core::Error> for CallErr {
    fn from(e: oxvirt_core::Error) -> Self {
        CallErr(RemoteError::from(&e))
    }
}

type CallResult = Result<Vec<u8>, CallErr>;

fn void() -> CallResult {
    Ok(Vec::new())
}

fn ret(f: impl FnOnce(&mut Encoder)) -> CallResult {
    let mut e = Encoder::new();
    f(&mut e);
    Ok(e.into_inner())
}

fn key(d: &RemoteDomain) -> DomainKey {
    DomainKey::Uuid(uuid::Uuid::from_bytes(d.uuid))
}

/// libvirt's `virDomainState` number from ours.
fn state_num(s: DomainState) -> i32 {
    s as i32
}

impl Server {
    pub fn new(conn: Arc<dyn Connection>, instance: Instance) -> Arc<Server> {
        Self::with_other_drivers(conn, instance, None)
    }

    /// Like [`Server::new`], also serving URIs of other (non-`qemu`) drivers through
    /// `other`, e.g. `oxvirt_core::registry::open` after loading `plugin_dir`.
    pub fn with_other_drivers(
        conn: Arc<dyn Connection>,
        instance: Instance,
        other: Option<Opener>,
    ) -> Arc<Server> {
        Arc::new(Server {
            conn,
            instance,
            bus: EventBus::new(),
            hv_version: OnceLock::new(),
            other,
            keepalive: OnceLock::new(),
        })
    }

    /// Change the server PING interval and count (before serving; default 5 s and 5,
    /// as libvirtd). A client that asked for keepalive and stays silent for
    /// `interval * (count + 1)` is disconnected.
    pub fn set_keepalive(&self, interval: std::time::Duration, count: u32) {
        let _ = self.keepalive.set((interval, count));
    }

    /// Take the first domain snapshot for events (blocking; call before serving).
    pub fn prime_events(&self) {
        self.bus.refresh(&*self.conn);
    }

    /// Start the lifecycle-event watcher (see [`crate::events`]) on the current runtime.
    pub fn spawn_event_watcher(self: &Arc<Self>, period: std::time::Duration) {
        tokio::spawn(crate::events::watch(
            self.conn.clone(),
            self.bus.clone(),
            period,
        ));
    }

    /// Accept clients on `listener` forever.
    pub async fn serve(self: Arc<Self>, listener: UnixListener, policy: SocketPolicy) {
        let policy = Arc::new(policy);
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let me = self.clone();
                    let policy = policy.clone();
                    tokio::spawn(async move { me.handle(stream, &policy).await });
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }

    async fn handle(self: Arc<Self>, stream: UnixStream, policy: &SocketPolicy) {
        let cred = match stream.peer_cred() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("cannot read the peer credentials (SO_PEERCRED): {e}");
                return;
            }
        };
        if !policy.allowed_uids.is_empty() && !policy.allowed_uids.contains(&cred.uid()) {
            tracing::warn!(
                "refusing a client with uid {} pid {:?}: this socket serves uid {:?}",
                cred.uid(),
                cred.pid(),
                policy.allowed_uids
            );
            return;
        }
        tracing::debug!(uid = cred.uid(), pid = ?cred.pid(), ro = policy.read_only, "client connected");
        let (mut rd, mut wr) = stream.into_split();
        let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
        let client = Arc::new(Client {
            opened: AtomicBool::new(false),
            conn: OnceLock::new(),
            read_only: AtomicBool::new(policy.read_only),
            callbacks: Mutex::new(HashMap::new()),
            next_callback: AtomicI32::new(1),
            keepalive: AtomicBool::new(false),
            last_rx: Mutex::new(std::time::Instant::now()),
            tx,
            closing: Arc::new(Notify::new()),
        });
        // The writer must not hold the Client (it holds the channel's sender).
        let writer_closing = client.closing.clone();
        let writer = tokio::spawn(async move {
            while let Some(out) = rx.recv().await {
                match out {
                    Out::Frame(b) => {
                        if wr.write_all(&b).await.is_err() {
                            break;
                        }
                    }
                    Out::Close => break,
                }
            }
            let _ = wr.shutdown().await;
            writer_closing.notify_one();
        });
        let events = tokio::spawn(forward_events(client.clone(), self.bus.tx.subscribe()));
        let in_flight = Arc::new(Semaphore::new(MAX_CALLS_PER_CLIENT));
        let (interval, count) = *self
            .keepalive
            .get()
            .unwrap_or(&(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT));
        let pinger = tokio::spawn(keepalive(client.clone(), interval, count));

        loop {
            let frame = tokio::select! {
                f = read_frame(&mut rd) => f,
                _ = client.closing.notified() => break,
            };
            let body = match frame {
                Ok(Some(b)) => {
                    *lock(&client.last_rx) = std::time::Instant::now();
                    b
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::info!("closing a client connection: {e}");
                    break;
                }
            };
            let (h, payload) = match packet::decode(&body) {
                Ok((h, pl)) => (h, pl.to_vec()),
                Err(e) => {
                    tracing::info!("closing a client connection: {e}");
                    break;
                }
            };
            if h.prog == packet::PROG_KEEPALIVE {
                if h.proc_ == packet::KEEPALIVE_PING && h.mtype == MsgType::Message {
                    let pong = Header::message(packet::PROG_KEEPALIVE, packet::KEEPALIVE_PONG, 0);
                    let _ = client.tx.send(Out::Frame(packet::encode(&pong, &[])));
                }
                continue;
            }
            if h.mtype != MsgType::Call {
                tracing::debug!(?h, "ignoring a non-call message");
                continue;
            }
            let Ok(permit) = in_flight.clone().acquire_owned().await else {
                break;
            };
            let me = self.clone();
            let c = client.clone();
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let reply = me.dispatch(&c, &h, &payload);
                let _ = c.tx.send(Out::Frame(reply));
                if h.prog == packet::PROG_REMOTE && h.proc_ == p::CONNECT_CLOSE {
                    let _ = c.tx.send(Out::Close);
                }
            });
        }
        events.abort();
        pinger.abort();
        // Let calls in flight finish and queue their replies, then end the writer.
        let _ = in_flight.acquire_many(MAX_CALLS_PER_CLIENT as u32).await;
        let _ = client.tx.send(Out::Close);
        drop(client);
        let _ = writer.await;
        tracing::debug!("client disconnected");
    }

    /// Handle one CALL; returns the whole REPLY frame.
    fn dispatch(&self, client: &Client, h: &Header, payload: &[u8]) -> Vec<u8> {
        let result = if h.vers != packet::PROTOCOL_VERSION
            || (h.prog != packet::PROG_REMOTE && h.prog != packet::PROG_QEMU)
        {
            Err(CallErr(RemoteError::unknown_program(h.prog, h.vers)))
        } else {
            self.call(client, h.prog, h.proc_, payload)
        };
        match result {
            Ok(body) => packet::encode(&h.reply(Status::Ok), &body),
            Err(CallErr(e)) => {
                tracing::debug!(proc_ = h.proc_, code = e.code, msg = ?e.message, "call failed");
                let mut enc = Encoder::new();
                e.encode(&mut enc);
                packet::encode(&h.reply(Status::Error), &enc.buf)
            }
        }
    }

    fn call(&self, client: &Client, prog: u32, proc_: i32, payload: &[u8]) -> CallResult {
        let mut d = Decoder::new(payload);
        if prog == packet::PROG_QEMU {
            if proc_ != p::QEMU_DOMAIN_MONITOR_COMMAND {
                return Err(CallErr(RemoteError::unknown_procedure(proc_)));
            }
            self.check_open(client)?;
            if client.read_only.load(Ordering::SeqCst) {
                return Err(denied("virDomainQemuMonitorCommand"));
            }
            let dom = RemoteDomain::decode(&mut d)?;
            let cmd = d.string()?;
            let flags = d.u32()?;
            let (conn, _) = self.client_conn(client);
            let out = conn.monitor_command(&key(&dom), &cmd, flags & 1 != 0)?;
            return ret(|e| {
                e.string(&out);
            });
        }
        if !KNOWN.contains(&proc_) {
            return Err(CallErr(RemoteError::unknown_procedure(proc_)));
        }
        if !matches!(
            proc_,
            p::AUTH_LIST | p::CONNECT_SUPPORTS_FEATURE | p::CONNECT_OPEN | p::CONNECT_CLOSE
        ) {
            self.check_open(client)?;
        }
        if client.read_only.load(Ordering::SeqCst) && !p::is_read_only(proc_) {
            return Err(denied(api_name(proc_)));
        }
        let (conn_arc, primary) = self.client_conn(client);
        let conn = &*conn_arc;
        match proc_ {
            p::AUTH_LIST => ret(|e| {
                e.u32(1).i32(0); // [REMOTE_AUTH_NONE]
            }),
            p::CONNECT_SUPPORTS_FEATURE => {
                let f = d.i32()?;
                if f == feature::PROGRAM_KEEPALIVE {
                    client.keepalive.store(true, Ordering::SeqCst);
                }
                let yes = matches!(
                    f,
                    feature::PROGRAM_KEEPALIVE
                        | feature::REMOTE_EVENT_CALLBACK
                        | feature::REMOTE_CLOSE_CALLBACK
                );
                ret(|e| {
                    e.i32(yes as i32);
                })
            }
            p::CONNECT_OPEN => {
                let name = d.opt_string()?;
                let flags = d.u32()?;
                let chosen = self.choose(name.as_deref())?;
                if client.conn.set(chosen).is_err() {
                    return Err(CallErr(RemoteError::new(
                        err::INTERNAL_ERROR,
                        err::FROM_RPC,
                        "internal error: connection already open",
                    )));
                }
                if flags & 1 != 0 {
                    client.read_only.store(true, Ordering::SeqCst);
                }
                client.opened.store(true, Ordering::SeqCst);
                void()
            }
            p::CONNECT_CLOSE
            | p::CONNECT_REGISTER_CLOSE_CALLBACK
            | p::CONNECT_UNREGISTER_CLOSE_CALLBACK => void(),
            p::CONNECT_GET_TYPE => ret(|e| {
                e.string(conn.hypervisor_type());
            }),
            p::CONNECT_GET_VERSION => {
                let v = match self.hv_version.get() {
                    _ if !primary => conn.hypervisor_version()?,
                    Some(v) => *v,
                    None => {
                        let v = conn.hypervisor_version()?;
                        *self.hv_version.get_or_init(|| v)
                    }
                };
                ret(|e| {
                    e.u64(v);
                })
            }
            p::CONNECT_GET_LIB_VERSION => ret(|e| {
                e.u64(LIB_VERSION);
            }),
            p::CONNECT_GET_HOSTNAME => {
                let h = conn.hostname()?;
                ret(|e| {
                    e.string(&h);
                })
            }
            p::CONNECT_GET_URI => {
                let uri = if primary {
                    self.instance.uri().to_string()
                } else {
                    conn.uri()
                };
                ret(|e| {
                    e.string(&uri);
                })
            }
            p::CONNECT_IS_SECURE => ret(|e| {
                e.i32(1);
            }),
            p::NODE_GET_INFO => {
                let n = node_info();
                ret(|e| n.encode(e))
            }
            p::CONNECT_GET_CAPABILITIES => {
                let c = conn.capabilities()?;
                ret(|e| {
                    e.string(&c);
                })
            }
            p::CONNECT_DOMAIN_XML_TO_NATIVE => {
                let format = d.string()?;
                let xml = d.string()?;
                let _flags = d.u32()?;
                let out = conn.xml_to_native(&format, &xml)?;
                ret(|e| {
                    e.string(&out);
                })
            }
            p::CONNECT_DOMAIN_XML_FROM_NATIVE => {
                let format = d.string()?;
                let native = d.string()?;
                let _flags = d.u32()?;
                let out = conn.xml_from_native(&format, &native)?;
                ret(|e| {
                    e.string(&out);
                })
            }
            p::CONNECT_GET_DOMAIN_CAPABILITIES => {
                let emulator = d.opt_string()?;
                let arch = d.opt_string()?;
                let machine = d.opt_string()?;
                let virttype = d.opt_string()?;
                let _flags = d.u32()?;
                let out = conn.domain_capabilities(
                    emulator.as_deref(),
                    arch.as_deref(),
                    machine.as_deref(),
                    virttype.as_deref(),
                )?;
                ret(|e| {
                    e.string(&out);
                })
            }
            p::NODE_GET_SECURITY_MODEL => {
                let (model, doi) = conn
                    .security_model()?
                    .unwrap_or_else(|| ("none".into(), "0".into()));
                ret(|e| {
                    e.var_chars(&model).var_chars(&doi);
                })
            }
            p::CONNECT_LIST_ALL_DOMAINS => {
                let need = d.i32()?;
                let flags = d.u32()?;
                let doms = list_all(conn, flags)?;
                ret(|e| {
                    if need != 0 {
                        e.u32(doms.len() as u32);
                        for dom in &doms {
                            dom.encode(e);
                        }
                    } else {
                        e.u32(0);
                    }
                    e.u32(doms.len() as u32);
                })
            }
            p::DOMAIN_DEFINE_XML | p::DOMAIN_DEFINE_XML_FLAGS => {
                let xml = d.string()?;
                if proc_ == p::DOMAIN_DEFINE_XML_FLAGS {
                    let _flags = d.u32()?;
                }
                // A redefinition is invisible to the watcher's diff: announce it here.
                let before = conn.list(ListFilter {
                    active: true,
                    inactive: true,
                })?;
                let s = conn.define_xml(&xml)?;
                if primary && before.iter().any(|b| b.uuid == s.uuid && b.persistent) {
                    self.bus.emit(DomainEvent {
                        dom: remote_domain(&s),
                        event: crate::protocol::lifecycle::DEFINED,
                        detail: crate::protocol::lifecycle::DEFINED_UPDATED,
                    });
                }
                self.changed(primary);
                ret(|e| remote_domain(&s).encode(e))
            }
            p::DOMAIN_CREATE_XML => {
                let xml = d.string()?;
                let _flags = d.u32()?;
                let s = conn.create_xml(&xml)?;
                self.changed(primary);
                ret(|e| remote_domain(&s).encode(e))
            }
            p::DOMAIN_LOOKUP_BY_NAME => {
                let name = d.string()?;
                let s = conn.lookup(&DomainKey::Name(name))?;
                ret(|e| remote_domain(&s).encode(e))
            }
            p::DOMAIN_LOOKUP_BY_UUID => {
                let u = d.fixed_opaque(16)?;
                let mut b = [0u8; 16];
                b.copy_from_slice(u);
                let s = conn.lookup(&DomainKey::Uuid(uuid::Uuid::from_bytes(b)))?;
                ret(|e| remote_domain(&s).encode(e))
            }
            p::DOMAIN_LOOKUP_BY_ID => {
                let id = d.i32()?;
                let key = u32::try_from(id).map_err(|_| {
                    oxvirt_core::Error::new(
                        oxvirt_core::ErrorCode::NoDomain,
                        oxvirt_core::ErrorDomain::Qemu,
                        format!("Domain not found: no domain with matching id {id}"),
                    )
                })?;
                let s = conn.lookup(&DomainKey::Id(key))?;
                ret(|e| remote_domain(&s).encode(e))
            }
            p::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY => {
                let event_id = d.i32()?;
                let dom = RemoteDomain::decode_opt(&mut d)?;
                if !(0..=p::EVENT_ID_LAST).contains(&event_id) {
                    return Err(CallErr(RemoteError::new(
                        oxvirt_core::ErrorCode::InvalidArg.number(),
                        err::FROM_RPC,
                        format!("unsupported event ID {event_id}"),
                    )));
                }
                let id = client.next_callback.fetch_add(1, Ordering::SeqCst);
                lock(&client.callbacks).insert(id, (event_id, dom.map(|d| d.uuid)));
                ret(|e| {
                    e.i32(id);
                })
            }
            p::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY => {
                let id = d.i32()?;
                if lock(&client.callbacks).remove(&id).is_none() {
                    return Err(CallErr(RemoteError::new(
                        oxvirt_core::ErrorCode::InvalidArg.number(),
                        err::FROM_RPC,
                        format!("event callback {id} is not registered on this connection"),
                    )));
                }
                void()
            }
            _ => self.domain_call(conn, primary, proc_, &mut d),
        }
    }

    /// Procedures whose first argument is a `remote_nonnull_domain`.
    fn domain_call(
        &self,
        conn: &dyn Connection,
        primary: bool,
        proc_: i32,
        d: &mut Decoder<'_>,
    ) -> CallResult {
        let dom = RemoteDomain::decode(d)?;
        let k = key(&dom);
        let changed = || self.changed(primary);
        match proc_ {
            p::DOMAIN_CREATE => {
                conn.start(&k)?;
                changed();
                void()
            }
            p::DOMAIN_CREATE_WITH_FLAGS => {
                let _flags = d.u32()?;
                let s = conn.start(&k)?;
                changed();
                ret(|e| remote_domain(&s).encode(e))
            }
            p::DOMAIN_DESTROY | p::DOMAIN_DESTROY_FLAGS => {
                if proc_ == p::DOMAIN_DESTROY_FLAGS {
                    let _flags = d.u32()?;
                }
                conn.destroy(&k)?;
                changed();
                void()
            }
            p::DOMAIN_SHUTDOWN | p::DOMAIN_SHUTDOWN_FLAGS => {
                if proc_ == p::DOMAIN_SHUTDOWN_FLAGS {
                    let _flags = d.u32()?;
                }
                conn.shutdown(&k)?;
                changed();
                void()
            }
            p::DOMAIN_SUSPEND => {
                conn.suspend(&k)?;
                changed();
                void()
            }
            p::DOMAIN_RESUME => {
                conn.resume(&k)?;
                changed();
                void()
            }
            p::DOMAIN_UNDEFINE | p::DOMAIN_UNDEFINE_FLAGS => {
                if proc_ == p::DOMAIN_UNDEFINE_FLAGS {
                    let _flags = d.u32()?;
                }
                conn.undefine(&k)?;
                changed();
                void()
            }
            p::DOMAIN_GET_XML_DESC => {
                let flags = d.u32()?;
                let xml = conn.xml(
                    &k,
                    XmlFlags {
                        secure: flags & 1 != 0,
                        inactive: flags & 2 != 0,
                    },
                )?;
                ret(|e| {
                    e.string(&xml);
                })
            }
            p::DOMAIN_GET_INFO => {
                let i = conn.info(&k)?;
                let r = DomainInfoRet {
                    state: state_num(i.summary.state) as u8,
                    max_mem: i.max_mem_kib,
                    memory: i.memory_kib,
                    nr_virt_cpu: i.vcpus.min(u16::MAX as u32) as u16,
                    cpu_time: i.cpu_time_ns,
                };
                ret(|e| r.encode(e))
            }
            p::DOMAIN_GET_STATE => {
                let _flags = d.u32()?;
                let s = conn.lookup(&k)?;
                ret(|e| {
                    e.i32(state_num(s.state)).i32(s.reason.number());
                })
            }
            p::DOMAIN_GET_OS_TYPE => {
                let i = conn.info(&k)?;
                ret(|e| {
                    e.string(&i.os_type);
                })
            }
            p::DOMAIN_GET_MAX_MEMORY => {
                let i = conn.info(&k)?;
                ret(|e| {
                    e.u64(i.max_mem_kib);
                })
            }
            p::DOMAIN_GET_AUTOSTART => {
                let i = conn.info(&k)?;
                ret(|e| {
                    e.i32(i.autostart as i32);
                })
            }
            p::DOMAIN_IS_ACTIVE => {
                let s = conn.lookup(&k)?;
                ret(|e| {
                    e.i32(s.state.is_active() as i32);
                })
            }
            p::DOMAIN_IS_PERSISTENT => {
                let s = conn.lookup(&k)?;
                ret(|e| {
                    e.i32(s.persistent as i32);
                })
            }
            p::DOMAIN_HAS_MANAGED_SAVE_IMAGE | p::DOMAIN_SNAPSHOT_NUM => {
                let _flags = d.u32()?;
                conn.lookup(&k)?;
                ret(|e| {
                    e.i32(0);
                })
            }
            p::DOMAIN_GET_SECURITY_LABEL => {
                let i = conn.info(&k)?;
                let label = i
                    .security
                    .first()
                    .and_then(|s| s.label.clone())
                    .unwrap_or_default();
                // A labelled VM is confined by it (libvirt's DAC and SELinux report 1).
                ret(|e| {
                    e.var_chars(&label).i32(!label.is_empty() as i32);
                })
            }
            p::DOMAIN_GET_MESSAGES => {
                let _flags = d.u32()?;
                conn.lookup(&k)?;
                ret(|e| {
                    e.u32(0);
                })
            }
            _ => Err(CallErr(RemoteError::unknown_procedure(proc_))),
        }
    }

    fn check_open(&self, client: &Client) -> Result<(), CallErr> {
        if client.opened.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(CallErr(RemoteError::new(
                err::INTERNAL_ERROR,
                err::FROM_RPC,
                "internal error: hypervisor connection not open",
            )))
        }
    }

    /// The connection a client's calls go to (the shared one before CONNECT_OPEN).
    fn client_conn(&self, client: &Client) -> (Arc<dyn Connection>, bool) {
        client
            .conn
            .get()
            .cloned()
            .unwrap_or_else(|| (self.conn.clone(), true))
    }

    /// After a state change: events for the shared connection, before the reply.
    fn changed(&self, primary: bool) {
        if primary {
            self.bus.refresh(&*self.conn);
        }
    }

    /// Which connection CONNECT_OPEN's `name` selects: the shared one for the instance's
    /// URI (or NULL/""), a new one from `other` for another driver's URI.
    fn choose(&self, name: Option<&str>) -> Result<(Arc<dyn Connection>, bool), CallErr> {
        let name = name.unwrap_or("");
        if name.is_empty() {
            return Ok((self.conn.clone(), true));
        }
        let parsed = oxvirt_core::uri::ConnectUri::parse(name).ok();
        if let Some(u) = parsed.filter(|u| u.host.is_none() && u.transport.is_none()) {
            if u.driver == "qemu" && u.path == self.instance.uri().trim_start_matches("qemu:///") {
                return Ok((self.conn.clone(), true));
            }
            // Never "qemu": the remote client driver linked into this process would
            // connect back to a daemon socket.
            if u.driver != "qemu" {
                if let Some(open) = &self.other {
                    return match open(name) {
                        Ok(c) => Ok((Arc::from(c), false)),
                        Err(e) => Err(CallErr::from(e)),
                    };
                }
            }
        }
        Err(CallErr(RemoteError::new(
            err::NO_CONNECT,
            err::FROM_NONE,
            format!(
                "no connection driver available for {name}: this oxvirtd serves {}",
                self.instance.uri()
            ),
        )))
    }
}

/// The libvirt version oxvirtd reports (`virConnectGetLibVersion`): the protocol level it
/// speaks, libvirt 9.0.0.
pub const LIB_VERSION: u64 = 9_000_000;

/// Every remote procedure the server handles (34 from the reference plus a few
/// neighbours: lookup by id, create-xml, shutdown, flags variants).
const KNOWN: &[i32] = &[
    p::CONNECT_OPEN,
    p::CONNECT_CLOSE,
    p::CONNECT_GET_TYPE,
    p::CONNECT_GET_VERSION,
    p::NODE_GET_INFO,
    p::CONNECT_GET_CAPABILITIES,
    p::DOMAIN_CREATE,
    p::DOMAIN_CREATE_XML,
    p::DOMAIN_DEFINE_XML,
    p::DOMAIN_DESTROY,
    p::DOMAIN_GET_XML_DESC,
    p::DOMAIN_GET_AUTOSTART,
    p::DOMAIN_GET_INFO,
    p::DOMAIN_GET_MAX_MEMORY,
    p::DOMAIN_GET_OS_TYPE,
    p::DOMAIN_LOOKUP_BY_ID,
    p::DOMAIN_LOOKUP_BY_NAME,
    p::DOMAIN_LOOKUP_BY_UUID,
    p::DOMAIN_RESUME,
    p::DOMAIN_SHUTDOWN,
    p::DOMAIN_SUSPEND,
    p::DOMAIN_UNDEFINE,
    p::CONNECT_GET_HOSTNAME,
    p::CONNECT_SUPPORTS_FEATURE,
    p::AUTH_LIST,
    p::CONNECT_GET_URI,
    p::DOMAIN_GET_SECURITY_LABEL,
    p::NODE_GET_SECURITY_MODEL,
    p::CONNECT_DOMAIN_XML_TO_NATIVE,
    p::CONNECT_DOMAIN_XML_FROM_NATIVE,
    p::CONNECT_GET_DOMAIN_CAPABILITIES,
    p::CONNECT_IS_SECURE,
    p::DOMAIN_IS_ACTIVE,
    p::DOMAIN_IS_PERSISTENT,
    p::CONNECT_GET_LIB_VERSION,
    p::DOMAIN_HAS_MANAGED_SAVE_IMAGE,
    p::DOMAIN_SNAPSHOT_NUM,
    p::DOMAIN_CREATE_WITH_FLAGS,
    p::DOMAIN_GET_STATE,
    p::DOMAIN_UNDEFINE_FLAGS,
    p::DOMAIN_DESTROY_FLAGS,
    p::DOMAIN_SHUTDOWN_FLAGS,
    p::CONNECT_LIST_ALL_DOMAINS,
    p::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
    p::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
    p::DOMAIN_DEFINE_XML_FLAGS,
    p::CONNECT_REGISTER_CLOSE_CALLBACK,
    p::CONNECT_UNREGISTER_CLOSE_CALLBACK,
    p::DOMAIN_GET_MESSAGES,
];

/// The public API a procedure implements, for error messages.
fn api_name(proc_: i32) -> &'static str {
    match proc_ {
        p::DOMAIN_CREATE | p::DOMAIN_CREATE_WITH_FLAGS => "virDomainCreate",
        p::DOMAIN_CREATE_XML => "virDomainCreateXML",
        p::DOMAIN_DEFINE_XML | p::DOMAIN_DEFINE_XML_FLAGS => "virDomainDefineXML",
        p::DOMAIN_DESTROY | p::DOMAIN_DESTROY_FLAGS => "virDomainDestroy",
        p::DOMAIN_SHUTDOWN | p::DOMAIN_SHUTDOWN_FLAGS => "virDomainShutdown",
        p::DOMAIN_SUSPEND => "virDomainSuspend",
        p::DOMAIN_RESUME => "virDomainResume",
        p::DOMAIN_UNDEFINE | p::DOMAIN_UNDEFINE_FLAGS => "virDomainUndefine",
        _ => "this call",
    }
}

fn denied(what: &str) -> CallErr {
    CallErr(RemoteError::new(
        err::OPERATION_DENIED,
        err::FROM_REMOTE,
        format!("operation forbidden: read only access prevents {what}"),
    ))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `virConnectListAllDomains` filtering over the driver's list.
fn list_all(conn: &dyn Connection, flags: u32) -> Result<Vec<RemoteDomain>, CallErr> {
    use list_flags::*;
    let mut want_active = flags & ACTIVE != 0;
    let mut want_inactive = flags & INACTIVE != 0;
    if !want_active && !want_inactive {
        want_active = true;
        want_inactive = true;
    }
    let all = conn.list(ListFilter {
        active: want_active,
        inactive: want_inactive,
    })?;
    Ok(all
        .iter()
        .filter(|s| {
            let pers = flags & (PERSISTENT | TRANSIENT);
            pers == 0
                || (flags & PERSISTENT != 0 && s.persistent)
                || (flags & TRANSIENT != 0 && !s.persistent)
        })
        .filter(|s| {
            let st = flags & (RUNNING | PAUSED | SHUTOFF | OTHER);
            st == 0
                || (flags & RUNNING != 0 && s.state == DomainState::Running)
                || (flags & PAUSED != 0 && s.state == DomainState::Paused)
                || (flags & SHUTOFF != 0 && s.state == DomainState::Shutoff)
                || (flags & OTHER != 0
                    && !matches!(
                        s.state,
                        DomainState::Running | DomainState::Paused | DomainState::Shutoff
                    ))
        })
        .map(remote_domain)
        .collect())
}

/// `virNodeGetInfo` from /proc (the trait has no node-info method).
pub fn node_info() -> NodeInfo {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count()
        .max(1) as i32;
    let mhz = cpuinfo
        .lines()
        .find(|l| l.starts_with("cpu MHz"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0) as i32;
    NodeInfo {
        model: std::env::consts::ARCH.to_string(),
        memory,
        cpus,
        mhz,
        nodes: 1,
        sockets: 1,
        cores: cpus,
        threads: 1,
    }
}

/// Read one frame body (after the length word). `Ok(None)` at a clean EOF.
async fn read_frame(rd: &mut tokio::net::unix::OwnedReadHalf) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match rd.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let n = packet::body_len(u32::from_be_bytes(len))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    // Grow as bytes arrive instead of trusting the length word with an allocation.
    let mut body = Vec::with_capacity(n.min(65536));
    let got = rd.take(n as u64).read_to_end(&mut body).await?;
    if got != n {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("client vanished mid-message ({got} of {n} bytes)"),
        ));
    }
    Ok(Some(body))
}

/// Ping a client that asked for keepalive after `interval` of silence; close it after
/// `interval * (count + 1)` (libvirtd's rule), so dead peers do not linger.
async fn keepalive(client: Arc<Client>, interval: std::time::Duration, count: u32) {
    loop {
        tokio::time::sleep(interval).await;
        if !client.keepalive.load(Ordering::SeqCst) {
            continue;
        }
        let idle = lock(&client.last_rx).elapsed();
        if idle >= interval * (count + 1) {
            tracing::info!(
                "closing a client connection: no answer to {count} keepalive PINGs ({idle:?} silent)"
            );
            client.closing.notify_one();
            return;
        }
        if idle >= interval {
            let ping = Header::message(packet::PROG_KEEPALIVE, packet::KEEPALIVE_PING, 0);
            if client
                .tx
                .send(Out::Frame(packet::encode(&ping, &[])))
                .is_err()
            {
                return;
            }
        }
    }
}

/// Forward lifecycle events to the client's registered callbacks as MESSAGE 318.
async fn forward_events(
    client: Arc<Client>,
    mut rx: tokio::sync::broadcast::Receiver<DomainEvent>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let ev = match rx.recv().await {
            Ok(ev) => ev,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!("a client missed {n} domain events");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let targets: Vec<i32> = lock(&client.callbacks)
            .iter()
            .filter(|(_, (eid, filter))| {
                *eid == p::EVENT_ID_LIFECYCLE && filter.is_none_or(|u| u == ev.dom.uuid)
            })
            .map(|(id, _)| *id)
            .collect();
        for callback_id in targets {
            let msg = LifecycleMsg {
                callback_id,
                dom: ev.dom.clone(),
                event: ev.event,
                detail: ev.detail,
            };
            let mut e = Encoder::new();
            msg.encode(&mut e);
            // libvirtd sends event MESSAGEs with serial 1.
            let h = Header::message(packet::PROG_REMOTE, p::DOMAIN_EVENT_CALLBACK_LIFECYCLE, 1);
            if client
                .tx
                .send(Out::Frame(packet::encode(&h, &e.buf)))
                .is_err()
            {
                return;
            }
        }
    }
}

/// Decode a whole client frame (length word included) as the server would, for fuzzing:
/// header, then the arguments of whatever procedure it names. Never panics.
pub fn fuzz_decode(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let Ok(n) = packet::body_len(u32::from_be_bytes([data[0], data[1], data[2], data[3]])) else {
        return;
    };
    let body = &data[4..];
    let body = &body[..n.min(body.len())];
    let Ok((_h, payload)) = packet::decode(body) else {
        return;
    };
    let mut d = Decoder::new(payload);
    let _ = RemoteDomain::decode(&mut d).and_then(|_| d.string());
    let mut d = Decoder::new(payload);
    let _ = d.opt_string().and_then(|_| d.u32());
    let _ = RemoteError::decode(&mut Decoder::new(payload));
    let _ = LifecycleMsg::decode(&mut Decoder::new(payload));
    let _ = NodeInfo::decode(&mut Decoder::new(payload));
    let _ = Decoder::new(payload).var_chars(4097);
    let mut d = Decoder::new(payload);
    if let Ok(n) = d.count(crate::protocol::DOMAIN_LIST_MAX, 24) {
        for _ in 0..n {
            if RemoteDomain::decode(&mut d).is_err() {
                break;
            }
        }
    }
}
