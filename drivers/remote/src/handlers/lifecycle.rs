//! The domain lifecycle family: define, create, start, destroy, shutdown, suspend,
//! resume, undefine. Each announces its change to the event bus before replying.

use super::call::{Call, Reg};
use super::reply::{domain, ret, void, CallResult};
use crate::events::{remote_domain, DomainEvent};
use crate::protocol::lifecycle as lc;
use crate::protocol::procs as p;
use crate::xdr::Decoder;
use oxvirt_core::driver::{Connection, DomainKey};

pub(super) const HANDLERS: &[Reg] = &[
    Reg::remote(p::DOMAIN_DEFINE_XML, "DOMAIN_DEFINE_XML", define),
    Reg::remote(
        p::DOMAIN_DEFINE_XML_FLAGS,
        "DOMAIN_DEFINE_XML_FLAGS",
        define_flags,
    ),
    Reg::remote(p::DOMAIN_CREATE_XML, "DOMAIN_CREATE_XML", create_xml),
    Reg::remote(p::DOMAIN_CREATE, "DOMAIN_CREATE", create),
    Reg::remote(
        p::DOMAIN_CREATE_WITH_FLAGS,
        "DOMAIN_CREATE_WITH_FLAGS",
        create_flags,
    ),
    Reg::remote(p::DOMAIN_DESTROY, "DOMAIN_DESTROY", destroy),
    Reg::remote(
        p::DOMAIN_DESTROY_FLAGS,
        "DOMAIN_DESTROY_FLAGS",
        destroy_flags,
    ),
    Reg::remote(p::DOMAIN_SHUTDOWN, "DOMAIN_SHUTDOWN", shutdown),
    Reg::remote(
        p::DOMAIN_SHUTDOWN_FLAGS,
        "DOMAIN_SHUTDOWN_FLAGS",
        shutdown_flags,
    ),
    Reg::remote(p::DOMAIN_SUSPEND, "DOMAIN_SUSPEND", suspend),
    Reg::remote(p::DOMAIN_RESUME, "DOMAIN_RESUME", resume),
    Reg::remote(p::DOMAIN_UNDEFINE, "DOMAIN_UNDEFINE", undefine),
    Reg::remote(
        p::DOMAIN_UNDEFINE_FLAGS,
        "DOMAIN_UNDEFINE_FLAGS",
        undefine_flags,
    ),
];

fn define(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let xml = d.string()?;
    define_xml(call, &xml)
}

fn define_flags(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let xml = d.string()?;
    call.flags(d.u32()?)?;
    define_xml(call, &xml)
}

fn define_xml(call: &Call<'_>, xml: &str) -> CallResult {
    // A redefinition is invisible to the watcher's diff: announce it here. Only the
    // domain of that name is looked up (an unparsable document is the define's to
    // refuse).
    let before = oxvirt_core::domain::parse_domain_xml(xml)
        .ok()
        .and_then(|d| call.conn.lookup(&DomainKey::Name(d.name)).ok());
    let s = call.conn.define_xml(xml)?;
    if call.primary && before.is_some_and(|b| b.uuid == s.uuid && b.persistent) {
        call.server.bus.emit(DomainEvent {
            dom: remote_domain(&s),
            event: lc::DEFINED,
            detail: lc::DEFINED_UPDATED,
        });
    }
    call.changed();
    ret(|e| remote_domain(&s).encode(e))
}

fn create_xml(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let xml = d.string()?;
    call.flags(d.u32()?)?;
    let s = call.conn.create_xml(&xml)?;
    call.changed();
    ret(|e| remote_domain(&s).encode(e))
}

fn create(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    verb(call, d, false, |c, k| c.start(k).map(drop))
}

fn create_flags(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let k = domain(d)?;
    call.flags(d.u32()?)?;
    let s = call.conn.start(&k)?;
    call.changed();
    ret(|e| remote_domain(&s).encode(e))
}

fn destroy(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    verb(call, d, false, |c, k| c.destroy(k))
}

fn destroy_flags(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    verb(call, d, true, |c, k| c.destroy(k))
}

fn shutdown(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    verb(call, d, false, |c, k| c.shutdown(k))
}

fn shutdown_flags(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    verb(call, d, true, |c, k| c.shutdown(k))
}

fn suspend(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    verb(call, d, false, |c, k| c.suspend(k))
}

fn resume(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    verb(call, d, false, |c, k| c.resume(k))
}

fn undefine(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    verb(call, d, false, |c, k| c.undefine(k))
}

fn undefine_flags(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    verb(call, d, true, |c, k| c.undefine(k))
}

/// A verb on the domain argument (followed by `flags` when `with_flags`) that returns
/// nothing: decode, run it, announce the change, answer void.
fn verb(
    call: &Call<'_>,
    d: &mut Decoder<'_>,
    with_flags: bool,
    f: impl FnOnce(&dyn Connection, &DomainKey) -> oxvirt_core::Result<()>,
) -> CallResult {
    let k = domain(d)?;
    if with_flags {
        call.flags(d.u32()?)?;
    }
    f(&*call.conn, &k)?;
    call.changed();
    void()
}
