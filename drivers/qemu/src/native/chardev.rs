//! `-serial pty|null|stdio|file:P|unix:P[,server]` → `<serial>`; `none` → nothing;
//! other backends are kept.

use super::state::State;
use super::value::{get, kv};
use oxvirt_core::domain::{Chardev, ChardevSource, UnixMode};
use oxvirt_core::Result;

/// The source a `-serial` value names: `Some(None)` for `none`, `None` when it is
/// not understood.
fn source(v: &str) -> Option<Option<ChardevSource>> {
    Some(Some(match v {
        "none" => return Some(None),
        "pty" => ChardevSource::Pty,
        "null" => ChardevSource::Null,
        "stdio" => ChardevSource::Stdio,
        _ => {
            if let Some(p) = v.strip_prefix("file:") {
                ChardevSource::File {
                    path: p.to_string(),
                    append: None,
                }
            } else if let Some(rest) = v.strip_prefix("unix:") {
                let kvs = kv(rest);
                let path = get(&kvs, "")?.to_string();
                let server = kvs.iter().any(|(k, v)| k == "server" && v != "off");
                ChardevSource::Unix {
                    path,
                    mode: if server {
                        UnixMode::Bind
                    } else {
                        UnixMode::Connect
                    },
                }
            } else {
                return None;
            }
        }
    }))
}

/// `-serial`.
pub(crate) fn serial(st: &mut State, _: &str, v: &str) -> Result<bool> {
    let Some(src) = source(v) else {
        return Ok(false);
    };
    let serials = &mut st.dom.devices.serials;
    if let Some(source) = src {
        serials.push(Chardev {
            source,
            target_type: None,
            target_port: Some(serials.len() as u32),
            ..Chardev::default()
        });
    }
    Ok(true)
}
