//! `-name X` / `-name guest=X,...` → `<name>`, `-uuid U` → `<uuid>`.

use super::state::State;
use super::value::{get, kv};
use oxvirt_core::{Error, Result};

/// `-name`.
pub(crate) fn name(st: &mut State, _: &str, v: &str) -> Result<bool> {
    let kvs = kv(v);
    st.dom.name = get(&kvs, "guest")
        .or_else(|| get(&kvs, ""))
        .unwrap_or(v)
        .to_string();
    Ok(true)
}

/// `-uuid`.
pub(crate) fn uuid(st: &mut State, _: &str, v: &str) -> Result<bool> {
    st.dom.uuid = uuid::Uuid::parse_str(v)
        .map_err(|e| Error::invalid_arg(format!("invalid argument: bad -uuid '{v}': {e}")))?;
    Ok(true)
}
