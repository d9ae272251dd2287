//! libvirt's RPC message framing: a `u32` total length (counting itself), a 24-byte
//! header (prog, vers, proc, type, serial, status), then the XDR payload.
//!
//! Owns the header codec, the program/type/status numbers and the 32 MiB cap. What a
//! payload means is [`crate::protocol`]'s business.

use crate::xdr::{Decoder, Encoder, XdrError};

/// The `remote` program.
pub const PROG_REMOTE: u32 = 0x2000_8086;
/// The `qemu` program (`qemu-monitor-command` and friends).
pub const PROG_QEMU: u32 = 0x2000_8087;
/// The keepalive program ("keep").
pub const PROG_KEEPALIVE: u32 = 0x6b65_6570;
/// Every program is version 1.
pub const PROTOCOL_VERSION: u32 = 1;

/// Keepalive PING and PONG procedures.
pub const KEEPALIVE_PING: i32 = 1;
pub const KEEPALIVE_PONG: i32 = 2;

/// `VIR_NET_MESSAGE_MAX`: the largest message, excluding the length word.
pub const MESSAGE_MAX: usize = 33_554_432;
/// Header size without the length word.
pub const HEADER_LEN: usize = 24;
/// Size of the length word.
pub const LEN_WORD: usize = 4;

/// `virNetMessageType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgType {
    Call = 0,
    Reply = 1,
    Message = 2,
    Stream = 3,
    CallWithFds = 4,
    ReplyWithFds = 5,
    StreamHole = 6,
}

impl MsgType {
    pub fn from_i32(v: i32) -> Option<MsgType> {
        Some(match v {
            0 => MsgType::Call,
            1 => MsgType::Reply,
            2 => MsgType::Message,
            3 => MsgType::Stream,
            4 => MsgType::CallWithFds,
            5 => MsgType::ReplyWithFds,
            6 => MsgType::StreamHole,
            _ => return None,
        })
    }
}

/// `virNetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok = 0,
    Error = 1,
    Continue = 2,
}

impl Status {
    pub fn from_i32(v: i32) -> Option<Status> {
        Some(match v {
            0 => Status::Ok,
            1 => Status::Error,
            2 => Status::Continue,
            _ => return None,
        })
    }
}

/// The 24-byte message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub prog: u32,
    pub vers: u32,
    pub proc_: i32,
    pub mtype: MsgType,
    pub serial: u32,
    pub status: Status,
}

impl Header {
    /// A CALL to `prog`/`proc_`.
    pub fn call(prog: u32, proc_: i32, serial: u32) -> Header {
        Header {
            prog,
            vers: PROTOCOL_VERSION,
            proc_,
            mtype: MsgType::Call,
            serial,
            status: Status::Ok,
        }
    }
    /// The REPLY to this call with `status`.
    pub fn reply(&self, status: Status) -> Header {
        Header {
            mtype: MsgType::Reply,
            status,
            ..*self
        }
    }
    /// An asynchronous MESSAGE (event or keepalive).
    pub fn message(prog: u32, proc_: i32, serial: u32) -> Header {
        Header {
            prog,
            vers: PROTOCOL_VERSION,
            proc_,
            mtype: MsgType::Message,
            serial,
            status: Status::Ok,
        }
    }
}

/// Why a frame was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The length word is below the header size or above [`MESSAGE_MAX`].
    BadLength(u32),
    /// The header itself does not decode.
    BadHeader(XdrError),
    /// A type or status number libvirt does not define.
    BadField(&'static str, i32),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::BadLength(n) => write!(
                f,
                "message length {n} is outside {}..={}",
                LEN_WORD + HEADER_LEN,
                LEN_WORD + MESSAGE_MAX
            ),
            FrameError::BadHeader(e) => write!(f, "bad message header: {e}"),
            FrameError::BadField(what, v) => write!(f, "bad message {what} {v}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Check a length word; returns how many bytes follow it.
pub fn body_len(len_word: u32) -> Result<usize, FrameError> {
    let len = len_word as usize;
    if len < LEN_WORD + HEADER_LEN || len - LEN_WORD > MESSAGE_MAX {
        return Err(FrameError::BadLength(len_word));
    }
    Ok(len - LEN_WORD)
}

/// Split a message body (everything after the length word) into header and payload.
pub fn decode(body: &[u8]) -> Result<(Header, &[u8]), FrameError> {
    if body.len() > MESSAGE_MAX {
        return Err(FrameError::BadLength(body.len() as u32));
    }
    let mut d = Decoder::new(body);
    let prog = d.u32().map_err(FrameError::BadHeader)?;
    let vers = d.u32().map_err(FrameError::BadHeader)?;
    let proc_ = d.i32().map_err(FrameError::BadHeader)?;
    let t = d.i32().map_err(FrameError::BadHeader)?;
    let serial = d.u32().map_err(FrameError::BadHeader)?;
    let s = d.i32().map_err(FrameError::BadHeader)?;
    let mtype = MsgType::from_i32(t).ok_or(FrameError::BadField("type", t))?;
    let status = Status::from_i32(s).ok_or(FrameError::BadField("status", s))?;
    Ok((
        Header {
            prog,
            vers,
            proc_,
            mtype,
            serial,
            status,
        },
        &body[HEADER_LEN..],
    ))
}

/// A whole frame: length word, header, payload.
pub fn encode(h: &Header, payload: &[u8]) -> Vec<u8> {
    let mut e = Encoder {
        buf: Vec::with_capacity(LEN_WORD + HEADER_LEN + payload.len()),
    };
    e.u32((LEN_WORD + HEADER_LEN + payload.len()) as u32)
        .u32(h.prog)
        .u32(h.vers)
        .i32(h.proc_)
        .i32(h.mtype as i32)
        .u32(h.serial)
        .i32(h.status as i32);
    e.buf.extend_from_slice(payload);
    e.buf
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first packet of `virsh list --all` (reference §1.1).
    const AUTH_LIST_CALL: [u8; 28] = [
        0, 0, 0, 0x1c, 0x20, 0, 0x80, 0x86, 0, 0, 0, 1, 0, 0, 0, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0,
    ];

    #[test]
    fn decodes_the_auth_list_call() {
        let n = body_len(u32::from_be_bytes([0, 0, 0, 0x1c])).unwrap();
        assert_eq!(n, 24);
        let (h, payload) = decode(&AUTH_LIST_CALL[4..]).unwrap();
        assert_eq!(h, Header::call(PROG_REMOTE, 66, 0));
        assert!(payload.is_empty());
        assert_eq!(encode(&h, &[]), AUTH_LIST_CALL);
    }

    #[test]
    fn lengths_are_bounded() {
        assert!(body_len(0).is_err());
        assert!(body_len(4).is_err());
        assert!(body_len(27).is_err());
        assert!(body_len(28).is_ok());
        assert!(body_len((LEN_WORD + MESSAGE_MAX) as u32).is_ok());
        assert!(body_len((LEN_WORD + MESSAGE_MAX + 1) as u32).is_err());
        assert!(body_len(u32::MAX).is_err());
    }

    #[test]
    fn bad_headers_are_errors() {
        assert!(decode(&[0; 10]).is_err());
        let mut b = AUTH_LIST_CALL[4..].to_vec();
        b[15] = 9; // type 9
        assert!(matches!(decode(&b), Err(FrameError::BadField("type", 9))));
        let mut b = AUTH_LIST_CALL[4..].to_vec();
        b[23] = 7; // status 7
        assert!(decode(&b).is_err());
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(data: Vec<u8>) {
            let _ = decode(&data);
        }
    }
}
