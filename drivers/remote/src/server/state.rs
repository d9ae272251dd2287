//! What the daemon shares between connections ([`Server`]) and what it keeps per client
//! ([`Client`]). Data and small accessors only; the behaviour is in the sibling modules.

use super::limits::{Admission, Limits, Slot};
use super::workers::WorkerPool;
use crate::events::EventBus;
use oxvirt_core::driver::Connection;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use tokio::sync::{mpsc, Notify, Semaphore};

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
    /// Only calls libvirt allows read-only are served (the `-ro` socket); its clients
    /// are anonymous until CONNECT_OPEN (`max_anonymous_clients`).
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
/// `other` (events are only produced for the shared one), and the limits.
pub struct Server {
    pub(crate) conn: Arc<dyn Connection>,
    pub(crate) instance: Instance,
    pub(crate) bus: EventBus,
    pub(crate) hv_version: OnceLock<u64>,
    pub(crate) other: Option<Opener>,
    pub(crate) limits: Limits,
    pub(crate) admission: Admission,
    /// Calls accepted at once over all clients (`max_requests`), high priority excepted.
    pub(crate) requests: Arc<Semaphore>,
    pub(crate) workers: WorkerPool,
}

/// What the writer task sends.
pub(crate) enum Out {
    Frame(Vec<u8>),
    Close,
}

/// A registered event callback: (eventID, optional domain uuid filter).
pub(crate) type Callback = (i32, Option<[u8; 16]>);

/// One client connection's state.
pub(crate) struct Client {
    pub opened: AtomicBool,
    /// The connection CONNECT_OPEN chose, and whether it is the shared one.
    pub conn: OnceLock<(Arc<dyn Connection>, bool)>,
    pub read_only: AtomicBool,
    /// callbackID → (eventID, domain filter).
    callbacks: Mutex<HashMap<i32, Callback>>,
    pub next_callback: AtomicI32,
    tx: mpsc::UnboundedSender<Out>,
    /// Wakes the reader to end the connection (writer gone, keepalive timeout).
    pub closing: Arc<Notify>,
    /// The client asked for PROGRAM_KEEPALIVE: the server pings it when idle.
    pub keepalive: AtomicBool,
    /// When the client last sent anything.
    pub last_rx: Mutex<std::time::Instant>,
    /// The reader waits for a call slot (our limits, not the client's silence).
    pub stalled: AtomicBool,
    /// Held while the client counts against `max_anonymous_clients`.
    anonymous: Mutex<Option<Slot>>,
}

impl Client {
    pub fn new(read_only: bool, tx: mpsc::UnboundedSender<Out>, anonymous: Option<Slot>) -> Client {
        Client {
            opened: AtomicBool::new(false),
            conn: OnceLock::new(),
            read_only: AtomicBool::new(read_only),
            callbacks: Mutex::new(HashMap::new()),
            next_callback: AtomicI32::new(1),
            tx,
            closing: Arc::new(Notify::new()),
            keepalive: AtomicBool::new(false),
            last_rx: Mutex::new(std::time::Instant::now()),
            stalled: AtomicBool::new(false),
            anonymous: Mutex::new(anonymous),
        }
    }

    pub fn callbacks(&self) -> MutexGuard<'_, HashMap<i32, Callback>> {
        lock(&self.callbacks)
    }

    /// Queue `out` for the writer; false when the writer is gone.
    pub fn send(&self, out: Out) -> bool {
        self.tx.send(out).is_ok()
    }

    /// CONNECT_OPEN succeeded: the client stops counting as anonymous.
    pub fn authenticated(&self) {
        lock(&self.anonymous).take();
    }

    pub fn is_anonymous(&self) -> bool {
        lock(&self.anonymous).is_some()
    }

    /// The connection the client's calls go to (the shared one before CONNECT_OPEN).
    pub fn connection(&self, server: &Server) -> (Arc<dyn Connection>, bool) {
        self.conn
            .get()
            .cloned()
            .unwrap_or_else(|| (server.conn.clone(), true))
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only.load(Ordering::SeqCst)
    }
}

/// A poisoned lock is still usable: the state it guards stays consistent per call.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
