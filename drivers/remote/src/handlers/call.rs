//! What a handler is ([`Handler`]), how it is registered ([`Reg`]) and the context it
//! runs in ([`Call`]): the server, the client, the procedure's table row, the connection.

use super::reply::{self, CallErr, CallResult};
use crate::procedures::data::{Procedure, Program};
use crate::server::state::{Client, Server};
use crate::xdr::Decoder;
use oxvirt_core::driver::Connection;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A handler: decode the arguments from the decoder, return the encoded result.
pub(crate) type Handler = fn(&Call<'_>, &mut Decoder<'_>) -> CallResult;

/// One handler and the procedure it serves.
pub(crate) struct Reg {
    pub program: Program,
    pub number: i32,
    /// The procedure's name, checked against the data (a wrong number is caught).
    pub name: &'static str,
    pub run: Handler,
    /// Served before CONNECT_OPEN (the handshake).
    pub before_open: bool,
}

impl Reg {
    pub(crate) const fn remote(number: i32, name: &'static str, run: Handler) -> Reg {
        Reg {
            program: Program::Remote,
            number,
            name,
            run,
            before_open: false,
        }
    }

    pub(crate) const fn qemu(number: i32, name: &'static str, run: Handler) -> Reg {
        Reg {
            program: Program::Qemu,
            ..Reg::remote(number, name, run)
        }
    }

    pub(crate) const fn before_open(self) -> Reg {
        Reg {
            before_open: true,
            ..self
        }
    }
}

/// One call being handled.
pub(crate) struct Call<'a> {
    pub server: &'a Server,
    pub client: &'a Client,
    pub procedure: &'a Procedure<'static>,
    /// The connection CONNECT_OPEN chose (the shared one before).
    pub conn: Arc<dyn Connection>,
    /// `conn` is the daemon's shared connection (events are produced for it).
    pub primary: bool,
}

impl Call<'_> {
    /// A `flags` argument: refused on a read-only connection when it holds a flag that
    /// needs read-write (libvirt's `VIR_DOMAIN_XML_SECURE` on dumpxml). The four APIs
    /// that test such flags themselves (`*GetXMLDesc`) answer "... with secure flag";
    /// the others refuse like `virCheckReadOnlyGoto`.
    pub fn flags(&self, flags: u32) -> Result<u32, CallErr> {
        let p = self.procedure;
        if flags & p.rw_flag_mask() == 0 || !self.client.read_only.load(Ordering::SeqCst) {
            return Ok(flags);
        }
        Err(if p.api_or_name().ends_with("GetXMLDesc") {
            reply::secure_flag_denied(p)
        } else {
            reply::read_only_denied(p)
        })
    }

    /// After a state change: events for the shared connection, before the reply.
    pub fn changed(&self) {
        if self.primary {
            self.server.bus.refresh(&*self.server.conn);
        }
    }
}
