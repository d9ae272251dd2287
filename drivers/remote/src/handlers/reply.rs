//! What a call answers: the encoded return value, or the `remote_error` to send, with the
//! constructors for libvirt's standard refusals (read-only, not supported, not open).

use crate::procedures::data::Procedure;
use crate::protocol::{err, RemoteDomain, RemoteError};
use crate::xdr::{Decoder, Encoder, XdrError};
use oxvirt_core::driver::DomainKey;

/// A failed call: the `remote_error` to send.
#[derive(Debug)]
pub(crate) struct CallErr(pub RemoteError);

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

/// The encoded `_ret` struct, or the error.
pub(crate) type CallResult = Result<Vec<u8>, CallErr>;

/// An empty (void) return.
pub(crate) fn void() -> CallResult {
    Ok(Vec::new())
}

/// A return value encoded by `f`.
pub(crate) fn ret(f: impl FnOnce(&mut Encoder)) -> CallResult {
    let mut e = Encoder::new();
    f(&mut e);
    Ok(e.into_inner())
}

/// A domain argument (`remote_nonnull_domain`) as the driver's key: always by uuid, so
/// lookups by name, uuid and id agree.
pub(crate) fn domain(d: &mut Decoder<'_>) -> Result<DomainKey, XdrError> {
    RemoteDomain::decode(d).map(|dom| DomainKey::Uuid(uuid::Uuid::from_bytes(dom.uuid)))
}

/// libvirt's refusal on a read-only connection (`virCheckReadOnlyGoto`):
/// "operation forbidden: read only access prevents virDomainDestroy".
pub(crate) fn read_only_denied(p: &Procedure<'_>) -> CallErr {
    CallErr(RemoteError::new(
        err::OPERATION_DENIED,
        p.err_domain,
        format!(
            "operation forbidden: read only access prevents {}",
            p.api_or_name()
        ),
    ))
}

/// libvirt's refusal of a flag that needs read-write on a read-only connection:
/// "operation forbidden: virDomainGetXMLDesc with secure flag".
pub(crate) fn secure_flag_denied(p: &Procedure<'_>) -> CallErr {
    CallErr(RemoteError::new(
        err::OPERATION_DENIED,
        p.err_domain,
        format!("operation forbidden: {} with secure flag", p.api_or_name()),
    ))
}

/// libvirt's answer when the driver lacks an API (`virReportUnsupportedError`).
pub(crate) fn no_support(p: &Procedure<'_>) -> CallErr {
    CallErr(RemoteError::new(
        err::NO_SUPPORT,
        p.err_domain,
        format!(
            "this function is not supported by the connection driver: {}",
            p.api_or_name()
        ),
    ))
}

/// A call other than the handshake before CONNECT_OPEN.
pub(crate) fn not_open() -> CallErr {
    CallErr(RemoteError::new(
        err::INTERNAL_ERROR,
        err::FROM_RPC,
        "internal error: hypervisor connection not open",
    ))
}

/// libvirt's `VIR_ERR_INVALID_ARG` with a message.
pub(crate) fn invalid_arg(message: String) -> CallErr {
    CallErr(RemoteError::new(err::INVALID_ARG, err::FROM_RPC, message))
}
