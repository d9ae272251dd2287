//! The XML writer of the emitter: two-space indentation, single-quoted attributes,
//! escaping, and the value spellings libvirt uses (`yes`/`no`, `on`/`off`).

use std::fmt::Write as _;

/// A tiny indenting writer.
#[derive(Default)]
pub(super) struct W {
    pub(super) out: String,
    depth: usize,
}

/// Attributes in order; a `None` value leaves the attribute out.
pub(super) type Attrs<'a> = [(&'a str, Option<String>)];

impl W {
    fn start(&mut self, name: &str, attrs: &Attrs) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            if let Some(v) = v {
                let _ = write!(self.out, " {k}='{}'", escape(v, true));
            }
        }
    }
    pub(super) fn open(&mut self, name: &str, attrs: &Attrs) {
        self.start(name, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }
    pub(super) fn empty(&mut self, name: &str, attrs: &Attrs) {
        self.start(name, attrs);
        self.out.push_str("/>\n");
    }
    pub(super) fn text_el(&mut self, name: &str, attrs: &Attrs, text: &str) {
        self.start(name, attrs);
        let _ = writeln!(self.out, ">{}</{name}>", escape(text, false));
    }
    /// `<name attrs/>` when `empty` (the body would write nothing), else the element
    /// with what `body` writes inside it.
    pub(super) fn element(
        &mut self,
        name: &str,
        attrs: &Attrs,
        empty: bool,
        body: impl FnOnce(&mut W),
    ) {
        if empty {
            self.empty(name, attrs);
        } else {
            self.open(name, attrs);
            body(self);
            self.close(name);
        }
    }
    /// An element's source text, verbatim (continuation lines keep their own
    /// indentation, so parsing the output gives back exactly `xml`).
    pub(super) fn raw(&mut self, xml: &str) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push_str(xml);
        self.out.push('\n');
    }
    pub(super) fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        let _ = writeln!(self.out, "</{name}>");
    }
}

pub(super) fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

pub(super) fn on_off(b: bool) -> String {
    if b { "on" } else { "off" }.to_owned()
}

/// A number attribute, left out when `None`.
pub(super) fn num<T: ToString>(v: Option<T>) -> Option<String> {
    v.map(|x| x.to_string())
}

/// Escape text or a single-quoted attribute value.
fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' if attr => out.push_str("&apos;"),
            '"' if attr => out.push_str("&quot;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_attributes_and_text() {
        assert_eq!(escape("a'b\"<&>", true), "a&apos;b&quot;&lt;&amp;&gt;");
        assert_eq!(escape("a'b<", false), "a'b&lt;");
    }
}
