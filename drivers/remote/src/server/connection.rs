//! One client connection: the peer check (SO_PEERCRED), admission against the client
//! limits, then a reader loop (this task), one writer task fed by a channel (replies,
//! PONGs and events never interleave bytes), one event-forwarding task and the keepalive
//! pinger. Each CALL takes a slot of the client's `max_client_requests` and, unless it is
//! high priority, of the daemon's `max_requests` (at either limit the reader stops
//! reading that client), then runs on the worker pool; replies may leave out of order
//! (clients match them by serial).
//!
//! Bad input closes this connection only: a length word out of range, an undecodable
//! header, a frame not finished within the incomplete-frame timeout, an anonymous
//! (read-only) client that does not open its connection within that timeout.

use super::dispatch;
use super::frame::read_frame;
use super::keepalive;
use super::limits::{Refusal, Slot};
use super::state::{lock, Client, Out, Server, SocketPolicy};
use crate::events::DomainEvent;
use crate::packet::{self, Header, MsgType, Status};
use crate::procedures::data::Priority;
use crate::protocol::procs as p;
use crate::protocol::{err, LifecycleMsg, RemoteError};
use crate::xdr::Encoder;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// Serve one accepted connection until it ends.
pub(crate) async fn handle(server: Arc<Server>, stream: UnixStream, policy: Arc<SocketPolicy>) {
    let who = match stream.peer_cred() {
        Ok(c) => {
            if !policy.allowed_uids.is_empty() && !policy.allowed_uids.contains(&c.uid()) {
                tracing::warn!(
                    "refusing a client with uid {} pid {:?}: this socket serves uid {:?}",
                    c.uid(),
                    c.pid(),
                    policy.allowed_uids
                );
                return;
            }
            format!("uid {} pid {}", c.uid(), c.pid().unwrap_or(0))
        }
        Err(e) => {
            tracing::warn!("cannot read the peer credentials (SO_PEERCRED): {e}");
            return;
        }
    };
    let socket = if policy.read_only {
        "read-only"
    } else {
        "read-write"
    };
    match server.admission.admit(&server.limits, policy.read_only) {
        Ok((slot, anonymous)) => {
            tracing::debug!(who, socket, "client connected");
            serve_client(&server, stream, policy.read_only, anonymous).await;
            drop(slot);
            tracing::debug!("client disconnected");
        }
        Err(why) => {
            server
                .admission
                .log_refusal(why, &format!("{who}, {socket} socket"));
            refuse(&server, stream, why).await;
        }
    }
}

/// Answer a refused client's first call with the reason, then close (bounded: at most a
/// few at once, each for at most 2 s).
async fn refuse(server: &Server, stream: UnixStream, why: Refusal) {
    let Some(_answering) = server.admission.refusing() else {
        return;
    };
    let (mut rd, mut wr) = stream.into_split();
    let wait = server.limits.frame_timeout.min(Duration::from_secs(2));
    let Ok(Ok(Some(body))) = tokio::time::timeout(wait, read_frame(&mut rd, wait)).await else {
        return;
    };
    let Ok((h, _)) = packet::decode(&body) else {
        return;
    };
    if h.mtype == MsgType::Call {
        let mut e = Encoder::new();
        RemoteError::new(err::RESOURCE_BUSY, err::FROM_RPC, why.message()).encode(&mut e);
        let _ = wr
            .write_all(&packet::encode(&h.reply(Status::Error), &e.buf))
            .await;
    }
    let _ = wr.shutdown().await;
}

async fn serve_client(
    server: &Arc<Server>,
    stream: UnixStream,
    read_only: bool,
    anonymous: Option<Slot>,
) {
    let (rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel::<Out>();
    let client = Arc::new(Client::new(read_only, tx, anonymous));
    // The writer must not hold the Client (it holds the channel's sender).
    let writer = tokio::spawn(write_loop(wr, rx, client.closing.clone()));
    let events = tokio::spawn(forward_events(client.clone(), server.bus.tx.subscribe()));
    let pinger = tokio::spawn(keepalive::run(client.clone(), server.limits.keepalive));
    let per_client = server.limits.max_client_requests;
    let in_flight = Arc::new(Semaphore::new(per_client));
    read_loop(server, &client, rd, &in_flight).await;
    events.abort();
    pinger.abort();
    // Let calls in flight finish and queue their replies, then end the writer.
    let _ = in_flight.acquire_many(per_client as u32).await;
    client.send(Out::Close);
    drop(client);
    let _ = writer.await;
}

async fn write_loop(
    mut wr: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Out>,
    closing: Arc<tokio::sync::Notify>,
) {
    while let Some(Out::Frame(b)) = rx.recv().await {
        if wr.write_all(&b).await.is_err() {
            break;
        }
    }
    let _ = wr.shutdown().await;
    closing.notify_one();
}

async fn read_loop(
    server: &Arc<Server>,
    client: &Arc<Client>,
    mut rd: OwnedReadHalf,
    in_flight: &Arc<Semaphore>,
) {
    let timeout = server.limits.frame_timeout;
    let anonymous_until = tokio::time::Instant::now() + timeout;
    loop {
        let frame = tokio::select! {
            f = read_frame(&mut rd, timeout) => f,
            _ = client.closing.notified() => return,
            _ = anonymous_expiry(client, anonymous_until) => {
                tracing::info!("closing an anonymous client: no CONNECT_OPEN within {timeout:?} (incomplete_frame_timeout)");
                return;
            }
        };
        let body = match frame {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(e) => {
                tracing::info!("closing a client connection: {e}");
                return;
            }
        };
        *lock(&client.last_rx) = std::time::Instant::now();
        let (h, payload) = match packet::decode(&body) {
            Ok((h, pl)) => (h, pl.to_vec()),
            Err(e) => {
                tracing::info!("closing a client connection: {e}");
                return;
            }
        };
        if h.prog == packet::PROG_KEEPALIVE {
            if h.proc_ == packet::KEEPALIVE_PING && h.mtype == MsgType::Message {
                let pong = Header::message(packet::PROG_KEEPALIVE, packet::KEEPALIVE_PONG, 0);
                client.send(Out::Frame(packet::encode(&pong, &[])));
            }
            continue;
        }
        if h.mtype != MsgType::Call {
            tracing::debug!(?h, "ignoring a non-call message");
            continue;
        }
        let Some(permits) = call_slots(server, client, in_flight, &h).await else {
            return;
        };
        submit(server, client, h, payload, permits);
    }
}

/// Fires at `until` if the client is still anonymous then; otherwise never.
async fn anonymous_expiry(client: &Client, until: tokio::time::Instant) {
    tokio::time::sleep_until(until).await;
    if !client.is_anonymous() {
        std::future::pending::<()>().await;
    }
}

type Permits = (OwnedSemaphorePermit, Option<OwnedSemaphorePermit>);

/// A slot of the client's calls and, for a low-priority call, of the daemon's; `None`
/// when the connection is closing meanwhile.
async fn call_slots(
    server: &Server,
    client: &Client,
    in_flight: &Arc<Semaphore>,
    h: &Header,
) -> Option<Permits> {
    client.stalled.store(true, Ordering::SeqCst);
    let slots = async {
        let mine = in_flight.clone().acquire_owned().await.ok()?;
        let global = match dispatch::priority(h) {
            Priority::High => None,
            Priority::Low => Some(server.requests.clone().acquire_owned().await.ok()?),
        };
        Some((mine, global))
    };
    let got = tokio::select! {
        s = slots => s,
        _ = client.closing.notified() => None,
    };
    client.stalled.store(false, Ordering::SeqCst);
    got
}

fn submit(
    server: &Arc<Server>,
    client: &Arc<Client>,
    h: Header,
    payload: Vec<u8>,
    permits: Permits,
) {
    let high = dispatch::priority(&h) == Priority::High;
    let (server, client) = (server.clone(), client.clone());
    let s = server.clone();
    s.workers.submit(high, move || {
        let _permits = permits;
        let reply = dispatch::dispatch(&server, &client, &h, &payload);
        client.send(Out::Frame(reply));
        if h.prog == packet::PROG_REMOTE && h.proc_ == p::CONNECT_CLOSE {
            client.send(Out::Close);
        }
    });
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
        let targets: Vec<i32> = client
            .callbacks()
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
            if !client.send(Out::Frame(packet::encode(&h, &e.buf))) {
                return;
            }
        }
    }
}
