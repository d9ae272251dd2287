//! Memory and vCPUs: `-m N[KMGT]` / `-m size=..` (a bare number is MiB) and
//! `-smp N[,maxcpus=M]`.

use super::state::State;
use super::value::{get, kv, mem_kib};
use oxvirt_core::{Error, Result};

/// `-m` → `<memory>`, `<currentMemory>`.
pub(crate) fn memory(st: &mut State, _: &str, v: &str) -> Result<bool> {
    let kvs = kv(v);
    let size = get(&kvs, "size").or_else(|| get(&kvs, "")).unwrap_or(v);
    st.dom.memory_kib = mem_kib(size).ok_or_else(|| {
        Error::invalid_arg(format!(
            "invalid argument: cannot parse memory size '-m {v}'"
        ))
    })?;
    st.dom.current_memory_kib = Some(st.dom.memory_kib);
    Ok(true)
}

/// `-smp` → `<vcpu current='N'>M</vcpu>`.
pub(crate) fn smp(st: &mut State, _: &str, v: &str) -> Result<bool> {
    let kvs = kv(v);
    let parse = |s: Option<&str>| s.and_then(|x| x.parse::<u32>().ok());
    let cpus = parse(get(&kvs, "cpus").or_else(|| get(&kvs, "")));
    let max = parse(get(&kvs, "maxcpus"));
    let vcpu = &mut st.dom.vcpu;
    match (cpus, max) {
        (Some(c), Some(m)) if m > c => {
            vcpu.count = m;
            vcpu.current = Some(c);
        }
        (Some(c), _) => vcpu.count = c,
        (None, Some(m)) => vcpu.count = m,
        (None, None) => {
            return Err(Error::invalid_arg(format!(
                "invalid argument: cannot parse '-smp {v}'"
            )))
        }
    }
    Ok(true)
}

/// Without `-m size=`, the current memory is the memory.
pub(crate) fn finish(st: &mut State) {
    if st.dom.current_memory_kib.is_none() {
        st.dom.current_memory_kib = Some(st.dom.memory_kib);
    }
}
