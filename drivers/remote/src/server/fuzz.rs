//! The fuzzing entry (`fuzz/fuzz_targets/rpc_packet.rs`): a whole client frame through
//! the server's decoding path and handlers, as a client that has opened its connection
//! (read-only when the serial is odd), against a driver that answers every call with an
//! error. Never panics.

use super::dispatch::dispatch;
use super::state::{Client, Instance, Server};
use crate::packet::{self, MsgType};
use oxvirt_core::driver::{Connection, DomainInfo, DomainKey, DomainSummary, ListFilter, XmlFlags};
use oxvirt_core::{Error, Result};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

/// A driver that refuses everything: handlers decode their arguments, then fail.
struct Refuse;

fn no<T>(key: &DomainKey) -> Result<T> {
    Err(Error::no_domain(&key.to_string()))
}

impl Connection for Refuse {
    fn uri(&self) -> String {
        "fuzz:///".into()
    }
    fn hypervisor_type(&self) -> &'static str {
        "QEMU"
    }
    fn hypervisor_version(&self) -> Result<u64> {
        Ok(0)
    }
    fn list(&self, _: ListFilter) -> Result<Vec<DomainSummary>> {
        Ok(Vec::new())
    }
    fn lookup(&self, key: &DomainKey) -> Result<DomainSummary> {
        no(key)
    }
    fn define_xml(&self, _: &str) -> Result<DomainSummary> {
        Err(Error::xml("refused"))
    }
    fn undefine(&self, key: &DomainKey) -> Result<()> {
        no(key)
    }
    fn create_xml(&self, _: &str) -> Result<DomainSummary> {
        Err(Error::xml("refused"))
    }
    fn start(&self, key: &DomainKey) -> Result<DomainSummary> {
        no(key)
    }
    fn shutdown(&self, key: &DomainKey) -> Result<()> {
        no(key)
    }
    fn destroy(&self, key: &DomainKey) -> Result<()> {
        no(key)
    }
    fn suspend(&self, key: &DomainKey) -> Result<()> {
        no(key)
    }
    fn resume(&self, key: &DomainKey) -> Result<()> {
        no(key)
    }
    fn info(&self, key: &DomainKey) -> Result<DomainInfo> {
        no(key)
    }
    fn xml(&self, key: &DomainKey, _: XmlFlags) -> Result<String> {
        no(key)
    }
}

/// Decode a whole client frame (length word included) and dispatch it: the header, then
/// the arguments of whatever procedure it names, through the same table and handlers
/// as oxvirtd. Never panics.
pub fn fuzz_decode(data: &[u8]) {
    static SERVER: OnceLock<Arc<Server>> = OnceLock::new();
    if data.len() < 4 {
        return;
    }
    let Ok(n) = packet::body_len(u32::from_be_bytes([data[0], data[1], data[2], data[3]])) else {
        return;
    };
    let body = &data[4..];
    let body = &body[..n.min(body.len())];
    let Ok((h, payload)) = packet::decode(body) else {
        return;
    };
    if h.mtype != MsgType::Call {
        return;
    }
    let server = SERVER.get_or_init(|| Server::new(Arc::new(Refuse), Instance::System));
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let client = Client::new(h.serial & 1 == 1, tx, None);
    client.opened.store(true, Ordering::SeqCst);
    let _ = dispatch(server, &client, &h, payload);
}
