//! The domain information family: lookups by name, uuid and id, listing, info, state,
//! XML description, OS type, memory, autostart, activity, persistence, the security
//! label, and the counters oxvirt always answers 0 for (managed save, snapshots,
//! messages).

use super::call::{Call, Reg};
use super::reply::{domain, ret, CallResult};
use crate::events::remote_domain;
use crate::protocol::procs::{self as p, list_flags};
use crate::protocol::{DomainInfoRet, RemoteDomain};
use crate::xdr::Decoder;
use oxvirt_core::driver::{Connection, DomainKey, DomainState, ListFilter, XmlFlags};

/// `VIR_DOMAIN_XML_SECURE`, `VIR_DOMAIN_XML_INACTIVE`.
const XML_SECURE: u32 = 1;
const XML_INACTIVE: u32 = 2;

pub(super) const HANDLERS: &[Reg] = &[
    Reg::remote(p::DOMAIN_LOOKUP_BY_NAME, "DOMAIN_LOOKUP_BY_NAME", by_name),
    Reg::remote(p::DOMAIN_LOOKUP_BY_UUID, "DOMAIN_LOOKUP_BY_UUID", by_uuid),
    Reg::remote(p::DOMAIN_LOOKUP_BY_ID, "DOMAIN_LOOKUP_BY_ID", by_id),
    Reg::remote(
        p::CONNECT_LIST_ALL_DOMAINS,
        "CONNECT_LIST_ALL_DOMAINS",
        list_all,
    ),
    Reg::remote(p::DOMAIN_GET_XML_DESC, "DOMAIN_GET_XML_DESC", xml_desc),
    Reg::remote(p::DOMAIN_GET_INFO, "DOMAIN_GET_INFO", get_info),
    Reg::remote(p::DOMAIN_GET_STATE, "DOMAIN_GET_STATE", get_state),
    Reg::remote(p::DOMAIN_GET_OS_TYPE, "DOMAIN_GET_OS_TYPE", os_type),
    Reg::remote(
        p::DOMAIN_GET_MAX_MEMORY,
        "DOMAIN_GET_MAX_MEMORY",
        max_memory,
    ),
    Reg::remote(p::DOMAIN_GET_AUTOSTART, "DOMAIN_GET_AUTOSTART", autostart),
    Reg::remote(p::DOMAIN_IS_ACTIVE, "DOMAIN_IS_ACTIVE", is_active),
    Reg::remote(
        p::DOMAIN_IS_PERSISTENT,
        "DOMAIN_IS_PERSISTENT",
        is_persistent,
    ),
    Reg::remote(
        p::DOMAIN_HAS_MANAGED_SAVE_IMAGE,
        "DOMAIN_HAS_MANAGED_SAVE_IMAGE",
        zero_with_flags,
    ),
    Reg::remote(
        p::DOMAIN_SNAPSHOT_NUM,
        "DOMAIN_SNAPSHOT_NUM",
        zero_with_flags,
    ),
    Reg::remote(
        p::DOMAIN_GET_SECURITY_LABEL,
        "DOMAIN_GET_SECURITY_LABEL",
        security_label,
    ),
    Reg::remote(p::DOMAIN_GET_MESSAGES, "DOMAIN_GET_MESSAGES", messages),
];

fn found(call: &Call<'_>, k: &DomainKey) -> CallResult {
    let s = call.conn.lookup(k)?;
    ret(|e| remote_domain(&s).encode(e))
}

fn by_name(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    found(call, &DomainKey::Name(d.string()?))
}

fn by_uuid(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let mut b = [0u8; 16];
    b.copy_from_slice(d.fixed_opaque(16)?);
    found(call, &DomainKey::Uuid(uuid::Uuid::from_bytes(b)))
}

fn by_id(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let id = d.i32()?;
    let key = u32::try_from(id).map_err(|_| {
        oxvirt_core::Error::new(
            oxvirt_core::ErrorCode::NoDomain,
            oxvirt_core::ErrorDomain::Qemu,
            format!("Domain not found: no domain with matching id {id}"),
        )
    })?;
    found(call, &DomainKey::Id(key))
}

fn list_all(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let need = d.i32()?;
    let flags = call.flags(d.u32()?)?;
    let doms = filtered(&*call.conn, flags)?;
    ret(|e| {
        if need != 0 {
            e.u32(doms.len() as u32);
            for dom in &doms {
                dom.encode(e);
            }
        } else {
            e.u32(0);
        }
        e.u32(doms.len() as u32);
    })
}

/// `virConnectListAllDomains` filtering over the driver's list.
fn filtered(conn: &dyn Connection, flags: u32) -> oxvirt_core::Result<Vec<RemoteDomain>> {
    use list_flags::*;
    let (mut active, mut inactive) = (flags & ACTIVE != 0, flags & INACTIVE != 0);
    if !active && !inactive {
        (active, inactive) = (true, true);
    }
    let all = conn.list(ListFilter { active, inactive })?;
    let persistence = |persistent: bool| {
        flags & (PERSISTENT | TRANSIENT) == 0
            || (flags & PERSISTENT != 0 && persistent)
            || (flags & TRANSIENT != 0 && !persistent)
    };
    let state = |s: DomainState| {
        let other = !matches!(
            s,
            DomainState::Running | DomainState::Paused | DomainState::Shutoff
        );
        flags & (RUNNING | PAUSED | SHUTOFF | OTHER) == 0
            || (flags & RUNNING != 0 && s == DomainState::Running)
            || (flags & PAUSED != 0 && s == DomainState::Paused)
            || (flags & SHUTOFF != 0 && s == DomainState::Shutoff)
            || (flags & OTHER != 0 && other)
    };
    Ok(all
        .iter()
        .filter(|s| persistence(s.persistent) && state(s.state))
        .map(remote_domain)
        .collect())
}

fn xml_desc(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let k = domain(d)?;
    let flags = call.flags(d.u32()?)?;
    let xml = call.conn.xml(
        &k,
        XmlFlags {
            secure: flags & XML_SECURE != 0,
            inactive: flags & XML_INACTIVE != 0,
        },
    )?;
    ret(|e| {
        e.string(&xml);
    })
}

fn get_info(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let i = call.conn.info(&domain(d)?)?;
    let r = DomainInfoRet {
        state: i.summary.state as u8,
        max_mem: i.max_mem_kib,
        memory: i.memory_kib,
        nr_virt_cpu: i.vcpus.min(u16::MAX as u32) as u16,
        cpu_time: i.cpu_time_ns,
    };
    ret(|e| r.encode(e))
}

fn get_state(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let k = domain(d)?;
    call.flags(d.u32()?)?;
    let s = call.conn.lookup(&k)?;
    ret(|e| {
        e.i32(s.state as i32).i32(s.reason.number());
    })
}

fn os_type(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let i = call.conn.info(&domain(d)?)?;
    ret(|e| {
        e.string(&i.os_type);
    })
}

fn max_memory(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let i = call.conn.info(&domain(d)?)?;
    ret(|e| {
        e.u64(i.max_mem_kib);
    })
}

fn autostart(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let i = call.conn.info(&domain(d)?)?;
    ret(|e| {
        e.i32(i.autostart as i32);
    })
}

fn is_active(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let s = call.conn.lookup(&domain(d)?)?;
    ret(|e| {
        e.i32(s.state.is_active() as i32);
    })
}

fn is_persistent(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let s = call.conn.lookup(&domain(d)?)?;
    ret(|e| {
        e.i32(s.persistent as i32);
    })
}

/// Managed save images and snapshots: oxvirt has none.
fn zero_with_flags(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let k = domain(d)?;
    call.flags(d.u32()?)?;
    call.conn.lookup(&k)?;
    ret(|e| {
        e.i32(0);
    })
}

fn security_label(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let i = call.conn.info(&domain(d)?)?;
    let label = i
        .security
        .first()
        .and_then(|s| s.label.clone())
        .unwrap_or_default();
    // A labelled VM is confined by it (libvirt's DAC and SELinux report 1).
    ret(|e| {
        e.var_chars(&label).i32(!label.is_empty() as i32);
    })
}

fn messages(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let k = domain(d)?;
    call.flags(d.u32()?)?;
    call.conn.lookup(&k)?;
    ret(|e| {
        e.u32(0);
    })
}
