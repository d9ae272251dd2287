//! The structs of the remote protocol that have more than one field, with their XDR
//! encodings. Single-field args and rets are coded inline by the server and client with
//! [`crate::xdr`] primitives.

use crate::xdr::{Decoder, Encoder, XdrResult};

/// `REMOTE_DOMAIN_LIST_MAX`.
pub const DOMAIN_LIST_MAX: u32 = 16_384;
/// `REMOTE_AUTH_TYPE_LIST_MAX`.
pub const AUTH_TYPE_LIST_MAX: u32 = 20;
/// `REMOTE_SECURITY_LABEL_MAX` + 1 and `REMOTE_SECURITY_MODEL_MAX` + 1 / DOI.
pub const SECURITY_LABEL_MAX: u32 = 4097;
pub const SECURITY_MODEL_MAX: u32 = 257;
/// `REMOTE_DOMAIN_MESSAGES_MAX`.
pub const DOMAIN_MESSAGES_MAX: u32 = 2048;

/// libvirt error numbers used on the wire that [`oxvirt_core::ErrorCode`] does not name.
pub mod err {
    pub const INTERNAL_ERROR: i32 = 1;
    pub const NO_SUPPORT: i32 = 3;
    pub const NO_CONNECT: i32 = 5;
    pub const INVALID_ARG: i32 = 8;
    /// `VIR_ERR_OPERATION_DENIED` (libvirt 9.0's virterror.h: 29).
    pub const OPERATION_DENIED: i32 = 29;
    pub const RPC: i32 = 39;
    pub const AUTH_FAILED: i32 = 45;
    pub const RESOURCE_BUSY: i32 = 87;
    /// Error domains.
    pub const FROM_NONE: i32 = 0;
    pub const FROM_RPC: i32 = 7;
    pub const FROM_REMOTE: i32 = 13;
    /// `VIR_ERR_ERROR`.
    pub const LEVEL_ERROR: i32 = 2;
}

/// `remote_nonnull_domain`: `{ string name; opaque uuid[16]; int id; }`, id -1 when
/// inactive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteDomain {
    pub name: String,
    pub uuid: [u8; 16],
    pub id: i32,
}

impl RemoteDomain {
    pub fn encode(&self, e: &mut Encoder) {
        e.string(&self.name).fixed_opaque(&self.uuid).i32(self.id);
    }
    pub fn decode(d: &mut Decoder<'_>) -> XdrResult<RemoteDomain> {
        let name = d.string()?;
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(d.fixed_opaque(16)?);
        let id = d.i32()?;
        Ok(RemoteDomain { name, uuid, id })
    }
    /// `remote_domain` (optional).
    pub fn decode_opt(d: &mut Decoder<'_>) -> XdrResult<Option<RemoteDomain>> {
        if d.present()? {
            Ok(Some(Self::decode(d)?))
        } else {
            Ok(None)
        }
    }
}

/// `remote_error`, the payload of a REPLY with status ERROR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    pub code: i32,
    pub domain: i32,
    pub message: Option<String>,
    pub level: i32,
}

impl RemoteError {
    pub fn new(code: i32, domain: i32, message: impl Into<String>) -> RemoteError {
        RemoteError {
            code,
            domain,
            message: Some(message.into()),
            level: err::LEVEL_ERROR,
        }
    }
    /// What libvirtd answers for a program it does not serve.
    pub fn unknown_program(prog: u32, vers: u32) -> RemoteError {
        Self::new(
            err::RPC,
            err::FROM_RPC,
            format!("Cannot find program {prog} version {vers}"),
        )
    }
    /// What libvirtd answers for a procedure it does not know; the client turns this
    /// into `VIR_ERR_NO_SUPPORT`.
    pub fn unknown_procedure(proc_: i32) -> RemoteError {
        Self::new(
            err::RPC,
            err::FROM_RPC,
            format!("unknown procedure: {proc_}"),
        )
    }
    pub fn encode(&self, e: &mut Encoder) {
        e.i32(self.code)
            .i32(self.domain)
            .opt_string(self.message.as_deref())
            .i32(self.level)
            .u32(0) // dom
            .u32(0) // str1
            .u32(0) // str2
            .u32(0) // str3
            .i32(0) // int1
            .i32(0) // int2
            .u32(0); // net
    }
    pub fn decode(d: &mut Decoder<'_>) -> XdrResult<RemoteError> {
        let code = d.i32()?;
        let domain = d.i32()?;
        let message = d.opt_string()?;
        let level = d.i32()?;
        // The rest is informational; tolerate its absence.
        let _ = RemoteDomain::decode_opt(d);
        Ok(RemoteError {
            code,
            domain,
            message,
            level,
        })
    }
}

impl From<&oxvirt_core::Error> for RemoteError {
    fn from(e: &oxvirt_core::Error) -> RemoteError {
        RemoteError::new(e.code.number(), e.domain as i32, e.message.clone())
    }
}

/// `remote_node_get_info_ret`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeInfo {
    pub model: String,
    /// KiB.
    pub memory: u64,
    pub cpus: i32,
    pub mhz: i32,
    pub nodes: i32,
    pub sockets: i32,
    pub cores: i32,
    pub threads: i32,
}

impl NodeInfo {
    pub fn encode(&self, e: &mut Encoder) {
        e.fixed_chars(&self.model, 32)
            .u64(self.memory)
            .i32(self.cpus)
            .i32(self.mhz)
            .i32(self.nodes)
            .i32(self.sockets)
            .i32(self.cores)
            .i32(self.threads);
    }
    pub fn decode(d: &mut Decoder<'_>) -> XdrResult<NodeInfo> {
        Ok(NodeInfo {
            model: d.fixed_chars(32)?,
            memory: d.u64()?,
            cpus: d.i32()?,
            mhz: d.i32()?,
            nodes: d.i32()?,
            sockets: d.i32()?,
            cores: d.i32()?,
            threads: d.i32()?,
        })
    }
}

/// `remote_domain_get_info_ret`; `state` and `nr_virt_cpu` are widened to 4 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DomainInfoRet {
    pub state: u8,
    pub max_mem: u64,
    pub memory: u64,
    pub nr_virt_cpu: u16,
    pub cpu_time: u64,
}

impl DomainInfoRet {
    pub fn encode(&self, e: &mut Encoder) {
        e.u32(self.state as u32)
            .u64(self.max_mem)
            .u64(self.memory)
            .u32(self.nr_virt_cpu as u32)
            .u64(self.cpu_time);
    }
    pub fn decode(d: &mut Decoder<'_>) -> XdrResult<DomainInfoRet> {
        Ok(DomainInfoRet {
            state: d.u32()? as u8,
            max_mem: d.u64()?,
            memory: d.u64()?,
            nr_virt_cpu: d.u32()? as u16,
            cpu_time: d.u64()?,
        })
    }
}

/// `virDomainEventType` and the detail numbers oxvirt sends.
pub mod lifecycle {
    pub const DEFINED: i32 = 0;
    pub const UNDEFINED: i32 = 1;
    pub const STARTED: i32 = 2;
    pub const SUSPENDED: i32 = 3;
    pub const RESUMED: i32 = 4;
    pub const STOPPED: i32 = 5;
    pub const SHUTDOWN: i32 = 6;
    pub const CRASHED: i32 = 8;

    pub const DEFINED_ADDED: i32 = 0;
    pub const DEFINED_UPDATED: i32 = 1;
    pub const UNDEFINED_REMOVED: i32 = 0;
    pub const STARTED_BOOTED: i32 = 0;
    pub const SUSPENDED_PAUSED: i32 = 0;
    pub const RESUMED_UNPAUSED: i32 = 0;
    pub const STOPPED_SHUTDOWN: i32 = 0;
    pub const STOPPED_DESTROYED: i32 = 1;
    pub const STOPPED_CRASHED: i32 = 2;
    pub const STOPPED_FAILED: i32 = 5;
    pub const SHUTDOWN_FINISHED: i32 = 0;
}

/// `remote_domain_event_callback_lifecycle_msg`: `{ int callbackID; { dom; int event;
/// int detail; } }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleMsg {
    pub callback_id: i32,
    pub dom: RemoteDomain,
    pub event: i32,
    pub detail: i32,
}

impl LifecycleMsg {
    pub fn encode(&self, e: &mut Encoder) {
        e.i32(self.callback_id);
        self.dom.encode(e);
        e.i32(self.event).i32(self.detail);
    }
    pub fn decode(d: &mut Decoder<'_>) -> XdrResult<LifecycleMsg> {
        Ok(LifecycleMsg {
            callback_id: d.i32()?,
            dom: RemoteDomain::decode(d)?,
            event: d.i32()?,
            detail: d.i32()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_matches_the_reference_dump() {
        let dom = RemoteDomain {
            name: "rpcdemo".into(),
            uuid: [
                0x0b, 0xbd, 0x92, 0x7f, 0xac, 0x21, 0x40, 0xc9, 0x84, 0xb3, 0xd1, 0xb4, 0xa5, 0x77,
                0x78, 0x06,
            ],
            id: -1,
        };
        let mut e = Encoder::new();
        dom.encode(&mut e);
        assert_eq!(e.buf.len(), 12 + 16 + 4);
        assert_eq!(&e.buf[28..], &[0xff; 4]);
        assert_eq!(
            RemoteDomain::decode(&mut Decoder::new(&e.buf)).unwrap(),
            dom
        );
    }

    #[test]
    fn info_rets_have_the_reference_sizes() {
        let mut e = Encoder::new();
        DomainInfoRet::default().encode(&mut e);
        assert_eq!(e.buf.len(), 32);
        let mut e = Encoder::new();
        NodeInfo {
            model: "x86_64".into(),
            ..Default::default()
        }
        .encode(&mut e);
        assert_eq!(e.buf.len(), 160);
        let n = NodeInfo::decode(&mut Decoder::new(&e.buf)).unwrap();
        assert_eq!(n.model, "x86_64");
    }

    #[test]
    fn error_round_trips() {
        let r = RemoteError::new(42, 10, "Domain not found");
        let mut e = Encoder::new();
        r.encode(&mut e);
        assert_eq!(RemoteError::decode(&mut Decoder::new(&e.buf)).unwrap(), r);
    }
}
