//! Small helpers to spell QEMU option values: an insertion-ordered JSON object
//! (libvirt 9 passes `-device`, `-blockdev`, `-netdev` and `-object` as JSON, keys
//! in a fixed order) and the `key=value,...` syntax with `,,` comma escaping.

use std::fmt::Write as _;

/// A JSON value as QEMU's option parser accepts it.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Int(i64),
    Bool(bool),
    Obj(Props),
}

impl From<&str> for Val {
    fn from(s: &str) -> Self {
        Val::Str(s.to_string())
    }
}
impl From<String> for Val {
    fn from(s: String) -> Self {
        Val::Str(s)
    }
}
impl From<&String> for Val {
    fn from(s: &String) -> Self {
        Val::Str(s.clone())
    }
}
impl From<i64> for Val {
    fn from(n: i64) -> Self {
        Val::Int(n)
    }
}
impl From<u32> for Val {
    fn from(n: u32) -> Self {
        Val::Int(i64::from(n))
    }
}
impl From<bool> for Val {
    fn from(b: bool) -> Self {
        Val::Bool(b)
    }
}
impl From<Props> for Val {
    fn from(p: Props) -> Self {
        Val::Obj(p)
    }
}

/// A JSON object whose keys keep the order they were added in.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Props(Vec<(String, Val)>);

impl Props {
    pub fn new() -> Self {
        Props(Vec::new())
    }
    /// Add `key: value` (builder style).
    pub fn with(mut self, key: &str, val: impl Into<Val>) -> Self {
        self.0.push((key.to_string(), val.into()));
        self
    }
    /// Add `key: value` when `val` is `Some`.
    pub fn with_opt<V: Into<Val>>(self, key: &str, val: Option<V>) -> Self {
        match val {
            Some(v) => self.with(key, v),
            None => self,
        }
    }
    /// Serialise as compact JSON, the way libvirt prints it.
    pub fn to_json(&self) -> String {
        let mut s = String::new();
        write_obj(&mut s, self);
        s
    }
}

impl Props {
    /// Serialise as QEMU's `key=value,...` syntax with `first`'s value leading bare
    /// (`-device virtio-blk-pci,id=x`); nested objects flatten to dotted keys.
    pub fn to_keyval(&self, first: &str) -> String {
        let mut parts = Vec::new();
        if let Some((_, Val::Str(v))) = self.0.iter().find(|(k, _)| k == first) {
            parts.push(kv_escape(v));
        }
        flatten(&mut parts, "", self, first);
        parts.join(",")
    }
}

fn flatten(parts: &mut Vec<String>, prefix: &str, p: &Props, skip: &str) {
    for (k, v) in &p.0 {
        if prefix.is_empty() && k == skip {
            continue;
        }
        let key = format!("{prefix}{k}");
        match v {
            Val::Str(s) => parts.push(format!("{key}={}", kv_escape(s))),
            Val::Int(n) => parts.push(format!("{key}={n}")),
            Val::Bool(b) => parts.push(format!("{key}={}", if *b { "on" } else { "off" })),
            Val::Obj(o) => flatten(parts, &format!("{key}."), o, skip),
        }
    }
}

fn write_obj(out: &mut String, p: &Props) {
    out.push('{');
    for (i, (k, v)) in p.0.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, k);
        out.push(':');
        match v {
            Val::Str(s) => write_str(out, s),
            Val::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Val::Obj(o) => write_obj(out, o),
        }
    }
    out.push('}');
}

fn write_str(out: &mut String, s: &str) {
    // serde_json escapes exactly as JSON requires.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
}

/// Escape a value for QEMU's `key=value,...` syntax: a comma is doubled.
pub fn kv_escape(s: &str) -> String {
    s.replace(',', ",,")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_order_and_escapes() {
        let p = Props::new()
            .with("driver", "file")
            .with("filename", "/a \"b\"")
            .with("n", 3u32)
            .with("ro", true)
            .with("cache", Props::new().with("direct", true));
        assert_eq!(
            p.to_json(),
            r#"{"driver":"file","filename":"/a \"b\"","n":3,"ro":true,"cache":{"direct":true}}"#
        );
    }

    #[test]
    fn kv_commas_doubled() {
        assert_eq!(kv_escape("/a,b"), "/a,,b");
    }
}
