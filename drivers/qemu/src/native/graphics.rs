//! `-vnc [HOST]:N` → `<graphics type='vnc' port='5900+N' listen='HOST'>`; other forms
//! are kept.

use super::state::State;
use super::value::{get, kv};
use oxvirt_core::domain::Graphics;
use oxvirt_core::Result;

/// `-vnc`.
pub(crate) fn vnc(st: &mut State, _: &str, v: &str) -> Result<bool> {
    let kvs = kv(v);
    let addr = get(&kvs, "").unwrap_or(v);
    let (host, disp) = addr.rsplit_once(':').unwrap_or(("", addr));
    let Ok(n) = disp.parse::<i32>() else {
        return Ok(false);
    };
    st.dom.devices.graphics.push(Graphics {
        graphics_type: "vnc".into(),
        port: Some(5900 + n),
        autoport: Some(false),
        listen: (!host.is_empty()).then(|| host.to_string()),
        ..Graphics::default()
    });
    Ok(true)
}
