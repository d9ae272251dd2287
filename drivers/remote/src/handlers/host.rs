//! The host family: connect-level queries (type, versions, hostname, URI), node
//! information, capabilities, domain capabilities, the security model and the native
//! formats (domxml-to/from-native).

use super::call::{Call, Reg};
use super::reply::{ret, CallResult};
use crate::protocol::procs as p;
use crate::protocol::NodeInfo;
use crate::xdr::Decoder;

/// The libvirt version oxvirtd reports (`virConnectGetLibVersion`): the protocol level it
/// speaks, libvirt 9.0.0.
pub const LIB_VERSION: u64 = 9_000_000;

pub(super) const HANDLERS: &[Reg] = &[
    Reg::remote(p::CONNECT_GET_TYPE, "CONNECT_GET_TYPE", get_type),
    Reg::remote(p::CONNECT_GET_VERSION, "CONNECT_GET_VERSION", get_version),
    Reg::remote(
        p::CONNECT_GET_LIB_VERSION,
        "CONNECT_GET_LIB_VERSION",
        lib_version,
    ),
    Reg::remote(p::CONNECT_GET_HOSTNAME, "CONNECT_GET_HOSTNAME", hostname),
    Reg::remote(p::CONNECT_GET_URI, "CONNECT_GET_URI", uri),
    Reg::remote(p::CONNECT_IS_SECURE, "CONNECT_IS_SECURE", is_secure),
    Reg::remote(p::NODE_GET_INFO, "NODE_GET_INFO", node_get_info),
    Reg::remote(
        p::CONNECT_GET_CAPABILITIES,
        "CONNECT_GET_CAPABILITIES",
        capabilities,
    ),
    Reg::remote(
        p::CONNECT_GET_DOMAIN_CAPABILITIES,
        "CONNECT_GET_DOMAIN_CAPABILITIES",
        domain_capabilities,
    ),
    Reg::remote(
        p::NODE_GET_SECURITY_MODEL,
        "NODE_GET_SECURITY_MODEL",
        security_model,
    ),
    Reg::remote(
        p::CONNECT_DOMAIN_XML_TO_NATIVE,
        "CONNECT_DOMAIN_XML_TO_NATIVE",
        xml_to_native,
    ),
    Reg::remote(
        p::CONNECT_DOMAIN_XML_FROM_NATIVE,
        "CONNECT_DOMAIN_XML_FROM_NATIVE",
        xml_from_native,
    ),
];

fn get_type(call: &Call<'_>, _: &mut Decoder<'_>) -> CallResult {
    ret(|e| {
        e.string(call.conn.hypervisor_type());
    })
}

/// QEMU's version; the shared connection's is asked once and kept.
fn get_version(call: &Call<'_>, _: &mut Decoder<'_>) -> CallResult {
    let v = match call.server.hv_version.get() {
        _ if !call.primary => call.conn.hypervisor_version()?,
        Some(v) => *v,
        None => {
            let v = call.conn.hypervisor_version()?;
            *call.server.hv_version.get_or_init(|| v)
        }
    };
    ret(|e| {
        e.u64(v);
    })
}

fn lib_version(_: &Call<'_>, _: &mut Decoder<'_>) -> CallResult {
    ret(|e| {
        e.u64(LIB_VERSION);
    })
}

fn hostname(call: &Call<'_>, _: &mut Decoder<'_>) -> CallResult {
    let h = call.conn.hostname()?;
    ret(|e| {
        e.string(&h);
    })
}

fn uri(call: &Call<'_>, _: &mut Decoder<'_>) -> CallResult {
    let uri = if call.primary {
        call.server.instance.uri().to_string()
    } else {
        call.conn.uri()
    };
    ret(|e| {
        e.string(&uri);
    })
}

fn is_secure(_: &Call<'_>, _: &mut Decoder<'_>) -> CallResult {
    ret(|e| {
        e.i32(1); // a local unix socket
    })
}

fn node_get_info(_: &Call<'_>, _: &mut Decoder<'_>) -> CallResult {
    let n = node_info();
    ret(|e| n.encode(e))
}

fn capabilities(call: &Call<'_>, _: &mut Decoder<'_>) -> CallResult {
    let c = call.conn.capabilities()?;
    ret(|e| {
        e.string(&c);
    })
}

fn domain_capabilities(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let emulator = d.opt_string()?;
    let arch = d.opt_string()?;
    let machine = d.opt_string()?;
    let virttype = d.opt_string()?;
    call.flags(d.u32()?)?;
    let out = call.conn.domain_capabilities(
        emulator.as_deref(),
        arch.as_deref(),
        machine.as_deref(),
        virttype.as_deref(),
    )?;
    ret(|e| {
        e.string(&out);
    })
}

fn security_model(call: &Call<'_>, _: &mut Decoder<'_>) -> CallResult {
    let (model, doi) = call
        .conn
        .security_model()?
        .unwrap_or_else(|| ("none".into(), "0".into()));
    ret(|e| {
        e.var_chars(&model).var_chars(&doi);
    })
}

fn xml_to_native(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let format = d.string()?;
    let xml = d.string()?;
    call.flags(d.u32()?)?;
    let out = call.conn.xml_to_native(&format, &xml)?;
    ret(|e| {
        e.string(&out);
    })
}

fn xml_from_native(call: &Call<'_>, d: &mut Decoder<'_>) -> CallResult {
    let format = d.string()?;
    let native = d.string()?;
    call.flags(d.u32()?)?;
    let out = call.conn.xml_from_native(&format, &native)?;
    ret(|e| {
        e.string(&out);
    })
}

/// `virNodeGetInfo` from /proc (the driver interface has no node-info method).
pub fn node_info() -> NodeInfo {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count()
        .max(1) as i32;
    let mhz = cpuinfo
        .lines()
        .find(|l| l.starts_with("cpu MHz"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0) as i32;
    NodeInfo {
        model: std::env::consts::ARCH.to_string(),
        memory,
        cpus,
        mhz,
        nodes: 1,
        sockets: 1,
        cores: cpus,
        threads: 1,
    }
}
