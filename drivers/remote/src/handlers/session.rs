//! The session family: authentication (only `none` is offered), feature queries,
//! CONNECT_OPEN (which connection a client gets, read-only or not) and CONNECT_CLOSE.

use super::call::{Call, Reg};
use super::reply::{ret, void, CallErr, CallResult};
use crate::protocol::procs::{self as p, feature};
use crate::protocol::{err, RemoteError};
use crate::xdr::Decoder;
use oxvirt_core::driver::Connection;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// `VIR_CONNECT_RO` in CONNECT_OPEN's flags.
const CONNECT_RO: u32 = 1;

pub(super) const HANDLERS: &[Reg] = &[
    Reg::remote(p::AUTH_LIST, "AUTH_LIST", auth_list).before_open(),
    Reg::remote(67, "AUTH_SASL_INIT", auth_refused).before_open(),
    Reg::remote(68, "AUTH_SASL_START", auth_refused).before_open(),
    Reg::remote(69, "AUTH_SASL_STEP", auth_refused).before_open(),
    Reg::remote(70, "AUTH_POLKIT", auth_refused).before_open(),
    Reg::remote(
        p::CONNECT_SUPPORTS_FEATURE,
        "CONNECT_SUPPORTS_FEATURE",
        supports_feature,
    )
    .before_open(),
    Reg::remote(p::CONNECT_OPEN, "CONNECT_OPEN", open).before_open(),
    Reg::remote(p::CONNECT_CLOSE, "CONNECT_CLOSE", nothing).before_open(),
    Reg::remote(
        p::CONNECT_REGISTER_CLOSE_CALLBACK,
        "CONNECT_REGISTER_CLOSE_CALLBACK",
        nothing,
    ),
    Reg::remote(
        p::CONNECT_UNREGISTER_CLOSE_CALLBACK,
        "CONNECT_UNREGISTER_CLOSE_CALLBACK",
        nothing,
    ),
];

fn auth_list(_: &Call<'_>, _: &mut Decoder<'_>) -> CallResult {
    ret(|e| {
        e.u32(1).i32(0); // [REMOTE_AUTH_NONE]
    })
}

/// SASL and polkit steps: this daemon offers `none` only (libvirtd's answer when a
/// client asks for an auth type the socket does not use).
fn auth_refused(_: &Call<'_>, _: &mut Decoder<'_>) -> CallResult {
    Err(CallErr(RemoteError::new(
        err::AUTH_FAILED,
        err::FROM_RPC,
        "authentication failed: authentication failed",
    )))
}

fn supports_feature(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let f = d.i32()?;
    if f == feature::PROGRAM_KEEPALIVE {
        call.client.keepalive.store(true, Ordering::SeqCst);
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

fn open(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let name = d.opt_string()?;
    let flags = call.flags(d.u32()?)?;
    let chosen = choose(call, name.as_deref())?;
    if call.client.conn.set(chosen).is_err() {
        return Err(CallErr(RemoteError::new(
            err::INTERNAL_ERROR,
            err::FROM_RPC,
            "internal error: connection already open",
        )));
    }
    if flags & CONNECT_RO != 0 {
        call.client.read_only.store(true, Ordering::SeqCst);
    }
    call.client.opened.store(true, Ordering::SeqCst);
    // No longer anonymous: it counts against max_clients only.
    call.client.authenticated();
    void()
}

/// CONNECT_CLOSE (the server closes after the reply) and the close callbacks.
fn nothing(_: &Call<'_>, _: &mut Decoder<'_>) -> CallResult {
    void()
}

/// Which connection CONNECT_OPEN's `name` selects: the shared one for the instance's
/// URI (or NULL/""), a new one from the opener for another driver's URI.
fn choose(call: &Call<'_>, name: Option<&str>) -> Result<(Arc<dyn Connection>, bool), CallErr> {
    let server = call.server;
    let name = name.unwrap_or("");
    if name.is_empty() {
        return Ok((server.conn.clone(), true));
    }
    let parsed = oxvirt_core::uri::ConnectUri::parse(name).ok();
    if let Some(u) = parsed.filter(|u| u.host.is_none() && u.transport.is_none()) {
        if u.driver == "qemu" && u.path == server.instance.uri().trim_start_matches("qemu:///") {
            return Ok((server.conn.clone(), true));
        }
        // Never "qemu": the remote client driver linked into this process would
        // connect back to a daemon socket.
        if u.driver != "qemu" {
            if let Some(open) = &server.other {
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
            server.instance.uri()
        ),
    )))
}
