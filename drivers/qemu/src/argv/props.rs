//! How QEMU options are spelled, in one place: an insertion-ordered JSON object
//! ([`Props`]; libvirt 9 passes `-device`, `-blockdev`, `-netdev` and `-object` as
//! JSON, keys in a fixed order), the `key=value,...` syntax with `,,` comma escaping
//! ([`kv_escape`], [`Props::to_keyval`]), and the argument list the builders append to
//! ([`Args`]), which picks JSON or `key=value` for `-device` from the probed syntax.

use crate::caps::QemuCaps;
use oxvirt_core::{Error, Result};
use std::fmt::Write as _;
use std::path::Path;

/// Syntax choices taken from the capabilities.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Syntax {
    /// `-device driver,key=value` instead of JSON (no `device.json` flag).
    pub device_keyval: bool,
    /// `-drive ...,if=none` instead of `-blockdev` (no `blockdev` flag).
    pub legacy_drive: bool,
}

impl Syntax {
    /// The syntax `caps` (with the domain's overrides applied) asks for. A QEMU with
    /// neither `-blockdev` nor `-drive` cannot be given a disk at all: an error, even for
    /// a domain without disks, so that the emulator's problem shows at once.
    pub(crate) fn of(caps: &QemuCaps, emulator: &Path) -> Result<Syntax> {
        let s = Syntax {
            device_keyval: !caps.has("device.json"),
            legacy_drive: !caps.has("blockdev"),
        };
        if s.legacy_drive && !caps.has("drive") {
            return Err(Error::unsupported(format!(
                "QEMU '{}' supports neither -blockdev nor -drive (capabilities 'blockdev' and 'drive' are both off)",
                emulator.display()
            )));
        }
        Ok(s)
    }
}

/// The argument list being built. Builders append options in the pipeline's order;
/// nothing is ever removed or rewritten.
#[derive(Debug, Default)]
pub(crate) struct Args {
    args: Vec<String>,
    syntax: Syntax,
}

impl Args {
    pub(crate) fn new(syntax: Syntax) -> Args {
        Args {
            args: Vec::new(),
            syntax,
        }
    }
    pub(crate) fn syntax(&self) -> Syntax {
        self.syntax
    }
    /// An option without a value (`-S`).
    pub(crate) fn flag(&mut self, f: &str) {
        self.args.push(f.to_string());
    }
    /// An option and its value, the value as given (already in QEMU's syntax).
    pub(crate) fn opt(&mut self, o: &str, v: impl Into<String>) {
        self.args.push(o.to_string());
        self.args.push(v.into());
    }
    /// An option whose value is a property object: JSON, except `-device` in
    /// `driver,key=value` form when QEMU has no JSON `-device`.
    pub(crate) fn json(&mut self, o: &str, p: &Props) {
        if o == "-device" && self.syntax.device_keyval {
            self.opt(o, p.to_keyval("driver"));
        } else {
            self.opt(o, p.to_json());
        }
    }
    /// Words passed through untouched (`<qemu:arg>`).
    pub(crate) fn raw(&mut self, words: impl IntoIterator<Item = String>) {
        self.args.extend(words);
    }
    pub(crate) fn as_slice(&self) -> &[String] {
        &self.args
    }
    pub(crate) fn into_vec(self) -> Vec<String> {
        self.args
    }
}

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
    /// Serialise as QEMU's `key=value,...` syntax, every key spelled out
    /// (`file=/a,,b,if=none`); booleans are `on`/`off`, nested objects dotted keys.
    pub fn to_kv(&self) -> String {
        let mut parts = Vec::new();
        flatten(&mut parts, "", self, "");
        parts.join(",")
    }

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

    #[test]
    fn keyval_forms() {
        let p = Props::new()
            .with("driver", "virtio-blk-pci")
            .with("drive", "a,b")
            .with("ro", true)
            .with("cache", Props::new().with("direct", false));
        assert_eq!(
            p.to_keyval("driver"),
            "virtio-blk-pci,drive=a,,b,ro=on,cache.direct=off"
        );
        assert_eq!(
            p.to_kv(),
            "driver=virtio-blk-pci,drive=a,,b,ro=on,cache.direct=off"
        );
    }
}
