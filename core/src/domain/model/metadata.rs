//! `<metadata>`: other applications' XML, kept verbatim.

/// `<metadata>`: each child element's exact source text (it declares its own
/// namespace, as libvirt's dumpxml writes it). oxvirt never interprets it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    pub elements: Vec<String>,
}
