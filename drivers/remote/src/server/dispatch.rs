//! One CALL through the procedure table, in libvirt's order: known program and version,
//! known procedure (a server-to-client message is unknown as a call), connection open
//! (except the handshake), read-only access, then the handler, or
//! `VIR_ERR_NO_SUPPORT` naming the API when oxvirt has none. Returns the whole REPLY
//! frame; a handler that panics answers an internal error instead of leaving the client
//! waiting.

use super::state::{Client, Server};
use crate::handlers::reply::{self, CallErr, CallResult};
use crate::handlers::Call;
use crate::packet::{self, Header, Status};
use crate::procedures::data::{Kind, Priority, Program};
use crate::procedures::table;
use crate::protocol::{err, RemoteError};
use crate::xdr::{Decoder, Encoder};
use std::sync::atomic::Ordering;

/// Handle one CALL; returns the REPLY frame.
pub(crate) fn dispatch(server: &Server, client: &Client, h: &Header, payload: &[u8]) -> Vec<u8> {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        call(server, client, h, payload)
    }))
    .unwrap_or_else(|_| {
        tracing::error!(prog = h.prog, proc_ = h.proc_, "a call handler panicked");
        Err(CallErr(RemoteError::new(
            err::INTERNAL_ERROR,
            err::FROM_RPC,
            format!(
                "internal error: the daemon failed handling procedure {}",
                h.proc_
            ),
        )))
    });
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

/// The priority of a call, for the worker pool (unknown calls are low).
pub(crate) fn priority(h: &Header) -> Priority {
    Program::from_number(h.prog)
        .and_then(|p| table().get(p, h.proc_))
        .map(|e| e.procedure.priority)
        .unwrap_or(Priority::Low)
}

fn call(server: &Server, client: &Client, h: &Header, payload: &[u8]) -> CallResult {
    let program = Program::from_number(h.prog)
        .filter(|p| *p != Program::Keepalive && h.vers == packet::PROTOCOL_VERSION)
        .ok_or_else(|| CallErr(RemoteError::unknown_program(h.prog, h.vers)))?;
    let entry = table()
        .get(program, h.proc_)
        .filter(|e| e.procedure.kind == Kind::Call)
        .ok_or_else(|| CallErr(RemoteError::unknown_procedure(h.proc_)))?;
    let p = &entry.procedure;
    if !entry.handler.is_some_and(|r| r.before_open) && !client.opened.load(Ordering::SeqCst) {
        return Err(reply::not_open());
    }
    if client.is_read_only() && !p.readonly {
        return Err(reply::read_only_denied(p));
    }
    let reg = entry.handler.ok_or_else(|| reply::no_support(p))?;
    let (conn, primary) = client.connection(server);
    let call = Call {
        server,
        client,
        procedure: p,
        conn,
        primary,
    };
    (reg.run)(&call, &mut Decoder::new(payload))
}
