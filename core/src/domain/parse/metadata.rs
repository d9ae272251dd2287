//! `<metadata>`: other applications' elements, kept as their source text.

use super::util::{check_attrs, child_path};
use crate::domain::model::Metadata;
use crate::domain::xmltree::{parse_tree, Node, Ns};
use crate::error::{Error, Result};

/// `<metadata>`: every child must be in a namespace of its own (libvirt's schema);
/// each is kept as its exact source text, which must declare the namespaces it uses
/// so that it stands alone when formatted (libvirt's dumpxml writes it that way).
pub(super) fn parse_metadata(c: &Node, path: &str, xml: &str) -> Result<Metadata> {
    check_attrs(c, path, &[])?;
    let mut md = Metadata::default();
    for e in &c.children {
        let p = child_path(path, e);
        let Ns::Other(uri) = &e.ns else {
            return Err(Error::xml(format!(
                "XML error: element <{}> in <metadata> must be in a namespace of its own, e.g. <app:{} xmlns:app='http://example.org/app/1.0'> (at {p}, line {})",
                e.name, e.name, e.line
            )));
        };
        let raw = xml.get(e.span.clone()).unwrap_or_default();
        if parse_tree(raw).is_err() {
            return Err(Error::unsupported(format!(
                "unsupported configuration: <{}> in <metadata> uses a namespace prefix declared outside it; declare xmlns:PREFIX='{uri}' on the element itself (at {p}, line {})",
                e.name, e.line
            )));
        }
        md.elements.push(raw.to_owned());
    }
    Ok(md)
}
