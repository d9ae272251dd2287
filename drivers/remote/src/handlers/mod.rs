//! The procedure handlers, one module per family, and the context a handler runs in.
//!
//! Families: [`session`] (authentication, features, open/close), [`host`] (connect and
//! node calls, capabilities, native formats), [`lifecycle`] (define, start, stop,
//! undefine), [`info`] (lookups, listing, state and descriptions), [`callbacks`] (event
//! registration), [`qemu`] (the qemu program). Each family lists its handlers in
//! `HANDLERS`; [`crate::procedures`] joins them to the procedure data, so a handler is
//! reached only after the table's checks (connection open, read-only access).
//!
//! A handler decodes its arguments, reads every `flags` argument through
//! [`Call::flags`] (which refuses flags that need read-write on a read-only
//! connection), calls the driver and encodes the return value.

mod call;
mod callbacks;
mod host;
mod info;
mod lifecycle;
mod qemu;
pub(crate) mod reply;
mod session;

pub(crate) use call::{Call, Reg};

/// Every handler of every family.
pub(crate) fn registry() -> impl Iterator<Item = &'static Reg> {
    [
        session::HANDLERS,
        host::HANDLERS,
        lifecycle::HANDLERS,
        info::HANDLERS,
        callbacks::HANDLERS,
        qemu::HANDLERS,
    ]
    .into_iter()
    .flatten()
}
