//! A small, owned XML element tree built with quick-xml's namespace-aware reader.
//!
//! Owns: turning text into [`Node`]s (well-formedness, entity unescaping, namespace
//! resolution, line/column of errors, a nesting limit so nothing recurses without
//! bound). Knows nothing about libvirt; `parse` walks the tree.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::error::{Error, Result};

/// The namespace of libvirt's QEMU extensions.
pub const QEMU_NS: &str = "http://libvirt.org/schemas/domain/qemu/1.0";

/// Deeper documents are rejected: libvirt's schema never nests this far, and the
/// limit keeps recursion (including `Drop`) bounded.
const MAX_DEPTH: usize = 32;

/// Which namespace an element is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ns {
    /// No namespace: a libvirt element.
    None,
    /// `http://libvirt.org/schemas/domain/qemu/1.0`, whatever its prefix.
    Qemu,
    /// Any other namespace URI.
    Other(String),
}

/// One element: its local name, namespace, attributes, child elements and text.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub ns: Ns,
    /// Attributes in document order; `xmlns` declarations are left out. A prefixed
    /// attribute keeps its prefix so it never matches an unprefixed name.
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
    /// All character data directly inside the element, concatenated and unescaped.
    pub text: String,
    /// 1-based line of the start tag.
    pub line: usize,
    /// Byte range of the whole element in the document, from `<` of the start tag to
    /// `>` of the end tag (for content kept verbatim, such as `<metadata>`).
    pub span: std::ops::Range<usize>,
}

impl Node {
    /// The name as an error message shows it (`qemu:arg` for the QEMU namespace).
    pub fn display_name(&self) -> String {
        match &self.ns {
            Ns::None => self.name.clone(),
            Ns::Qemu => format!("qemu:{}", self.name),
            Ns::Other(uri) => format!("{{{uri}}}{}", self.name),
        }
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let col = match before.rfind('\n') {
        Some(nl) => before[nl + 1..].chars().count() + 1,
        None => before.chars().count() + 1,
    };
    (line, col)
}

/// Line numbers of increasing offsets in O(total length), not O(offset) each.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: usize,
}

impl LineCounter {
    fn line_at(&mut self, text: &str, offset: usize) -> usize {
        let offset = offset.min(text.len());
        if offset < self.offset {
            return line_col(text, offset).0;
        }
        let counted = text.as_bytes()[self.offset..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.line += counted;
        self.offset = offset;
        self.line + 1
    }
}

fn malformed(text: &str, offset: usize, what: impl std::fmt::Display) -> Error {
    let (line, col) = line_col(text, offset);
    Error::xml(format!(
        "XML error: malformed domain XML at line {line}, column {col}: {what}"
    ))
}

/// Parse a whole document into its root element.
pub fn parse_tree(text: &str) -> Result<Node> {
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut tree = TreeBuilder::default();
    loop {
        let before = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(v) => v,
            Err(e) => return Err(malformed(text, reader.error_position() as usize, e)),
        };
        let after = reader.buffer_position() as usize;
        let tag_start = text
            .get(..after.min(text.len()))
            .and_then(|s| s.rfind('<'))
            .unwrap_or(before);
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                tree.start(&reader, text, tag_start..after, e, is_empty)?;
            }
            Event::End(_) => tree.end(text, tag_start, after)?,
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| malformed(text, before, e))?;
                tree.text(text, before, &s)?;
            }
            Event::CData(c) => {
                let bytes = c.into_inner();
                let s = std::str::from_utf8(&bytes).map_err(|e| malformed(text, before, e))?;
                tree.cdata(text, before, s)?;
            }
            Event::Eof => return tree.finish(text),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
}

/// What [`parse_tree`] has read so far: the open elements and, once closed, the root.
#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Node>,
    root: Option<Node>,
    lines: LineCounter,
}

impl TreeBuilder {
    /// A finished element goes to its parent, or becomes the root.
    fn attach(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None => self.root = Some(node),
        }
    }

    /// A start tag spanning `tag` (or an empty element, which is finished at once).
    fn start(
        &mut self,
        reader: &NsReader<&[u8]>,
        text: &str,
        tag: std::ops::Range<usize>,
        e: &BytesStart,
        is_empty: bool,
    ) -> Result<()> {
        if self.root.is_some() {
            return Err(malformed(text, tag.start, "content after the root element"));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(malformed(
                text,
                tag.start,
                format!("elements nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let (ns, _) = reader.resolve_element(e.name());
        let mut node = start_node(reader, text, tag.start, ns, e)?;
        node.line = self.lines.line_at(text, tag.start);
        node.span = tag;
        if is_empty {
            self.attach(node);
        } else {
            self.stack.push(node);
        }
        Ok(())
    }

    /// An end tag at `tag_start`, ending at `after`.
    fn end(&mut self, text: &str, tag_start: usize, after: usize) -> Result<()> {
        let Some(mut node) = self.stack.pop() else {
            return Err(malformed(text, tag_start, "unexpected end tag"));
        };
        node.span.end = after;
        self.attach(node);
        Ok(())
    }

    /// Character data at `at`; only white space may stand outside the root.
    fn text(&mut self, text: &str, at: usize, s: &str) -> Result<()> {
        match self.stack.last_mut() {
            Some(top) => top.text.push_str(s),
            None if s.trim().is_empty() => {}
            None => return Err(malformed(text, at, "text outside the root element")),
        }
        Ok(())
    }

    /// A CDATA section at `at`: text of the open element.
    fn cdata(&mut self, text: &str, at: usize, s: &str) -> Result<()> {
        match self.stack.last_mut() {
            Some(top) => top.text.push_str(s),
            None => return Err(malformed(text, at, "CDATA outside the root element")),
        }
        Ok(())
    }

    /// The end of the document: every element closed, one root.
    fn finish(self, text: &str) -> Result<Node> {
        if let Some(open) = self.stack.last() {
            return Err(malformed(
                text,
                text.len(),
                format!(
                    "unexpected end of document: <{}> is not closed",
                    open.display_name()
                ),
            ));
        }
        self.root
            .ok_or_else(|| malformed(text, text.len(), "no root element"))
    }
}

fn start_node(
    reader: &NsReader<&[u8]>,
    text: &str,
    offset: usize,
    ns: ResolveResult,
    e: &BytesStart,
) -> Result<Node> {
    let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    let ns = match ns {
        ResolveResult::Unbound => Ns::None,
        ResolveResult::Bound(uri) => {
            let uri = String::from_utf8_lossy(uri.as_ref()).into_owned();
            if uri == QEMU_NS {
                Ns::Qemu
            } else {
                Ns::Other(uri)
            }
        }
        ResolveResult::Unknown(prefix) => {
            return Err(malformed(
                text,
                offset,
                format!(
                    "namespace prefix '{}' of <{}> is not declared",
                    String::from_utf8_lossy(&prefix),
                    String::from_utf8_lossy(e.name().as_ref())
                ),
            ))
        }
    };
    let mut attrs = Vec::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| malformed(text, offset, err))?;
        let qname = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        if qname == "xmlns" || qname.starts_with("xmlns:") {
            continue;
        }
        let (ans, _) = reader.resolve_attribute(attr.key);
        if let ResolveResult::Unknown(prefix) = ans {
            return Err(malformed(
                text,
                offset,
                format!(
                    "namespace prefix '{}' of attribute '{qname}' is not declared",
                    String::from_utf8_lossy(&prefix)
                ),
            ));
        }
        let value = attr
            .unescape_value()
            .map_err(|err| malformed(text, offset, err))?
            .into_owned();
        attrs.push((qname, value));
    }
    Ok(Node {
        name: local,
        ns,
        attrs,
        children: Vec::new(),
        text: String::new(),
        line: 0,
        span: 0..0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_of_errors() {
        let err = parse_tree("<domain>\n  <name>x</nam>\n</domain>").unwrap_err();
        assert!(err.message.contains("line 2"), "{}", err.message);
    }

    #[test]
    fn prefixes_resolve_to_namespaces() {
        let root = parse_tree(&format!(
            "<domain xmlns:foo='{QEMU_NS}'><foo:commandline/></domain>"
        ))
        .unwrap();
        assert_eq!(root.children[0].ns, Ns::Qemu);
        assert_eq!(root.children[0].name, "commandline");
        assert!(root.attrs.is_empty());
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let doc = "<a>".repeat(10_000);
        assert!(parse_tree(&doc).is_err());
    }

    #[test]
    fn unclosed_root_is_an_error() {
        let err = parse_tree("<domain><name>x</name>").unwrap_err();
        assert!(err.message.contains("not closed"), "{}", err.message);
    }
}
