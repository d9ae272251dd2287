//! The event-callback family: CONNECT_DOMAIN_EVENT_CALLBACK_(DE)REGISTER_ANY. The
//! events themselves are sent by the server's event forwarder (MESSAGE 318).

use super::call::{Call, Reg};
use super::reply::{invalid_arg, ret, void, CallResult};
use crate::protocol::procs as p;
use crate::protocol::RemoteDomain;
use crate::xdr::Decoder;
use std::sync::atomic::Ordering;

pub(super) const HANDLERS: &[Reg] = &[
    Reg::remote(
        p::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
        "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
        register,
    ),
    Reg::remote(
        p::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
        "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY",
        deregister,
    ),
];

/// Any event id libvirt 9.0 defines is accepted; only lifecycle events are sent.
fn register(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let event_id = d.i32()?;
    let dom = RemoteDomain::decode_opt(d)?;
    if !(0..=p::EVENT_ID_LAST).contains(&event_id) {
        return Err(invalid_arg(format!("unsupported event ID {event_id}")));
    }
    let c = call.client;
    let id = c.next_callback.fetch_add(1, Ordering::SeqCst);
    c.callbacks().insert(id, (event_id, dom.map(|d| d.uuid)));
    ret(|e| {
        e.i32(id);
    })
}

fn deregister(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let id = d.i32()?;
    if call.client.callbacks().remove(&id).is_none() {
        return Err(invalid_arg(format!(
            "event callback {id} is not registered on this connection"
        )));
    }
    void()
}
