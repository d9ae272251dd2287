//! `<memory>` and `<currentMemory>`: sizes with libvirt's units, kept in KiB.

use super::util::{bad_value, leaf, text};
use crate::domain::model::Domain;
use crate::domain::xmltree::Node;
use crate::error::{Error, Result};

/// Bytes per unit, with libvirt's rules: `KB` is 1000, `K`/`KiB` is 1024, and so on.
fn unit_scale(unit: &str) -> Option<u64> {
    let lower = unit.to_ascii_lowercase();
    if lower == "b" || lower == "byte" || lower == "bytes" {
        return Some(1);
    }
    let mut chars = lower.chars();
    let exp = match chars.next()? {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        'p' => 5,
        'e' => 6,
        _ => return None,
    };
    let base: u64 = match chars.as_str() {
        "" | "ib" => 1024,
        "b" => 1000,
        _ => return None,
    };
    base.checked_pow(exp)
}

/// `<memory unit=..>N</memory>` or `<currentMemory>` (no children) → KiB.
pub(super) fn parse_memory_element(c: &Node, path: &str) -> Result<u64> {
    leaf(c, path, &["unit"])?;
    parse_memory(c, path)
}

/// `<X unit=..>N</X>` → KiB, rounded up.
pub(super) fn parse_memory(c: &Node, path: &str) -> Result<u64> {
    let unit = c.attr("unit").unwrap_or("KiB");
    let Some(scale) = unit_scale(unit) else {
        return Err(bad_value(
            c,
            path,
            "unit",
            unit,
            "one of 'b', 'bytes', 'KB', 'k', 'KiB', 'MB', 'M', 'MiB', 'GB', 'G', 'GiB', 'TB', 'T', 'TiB'",
        ));
    };
    let t = text(c);
    let n: u64 = t.parse().map_err(|_| {
        Error::xml(format!(
            "XML error: invalid memory size '{t}' in <{}> (at {path}, line {}): expected an unsigned integer",
            c.name, c.line
        ))
    })?;
    let bytes = n.checked_mul(scale).ok_or_else(|| {
        Error::xml(format!(
            "XML error: memory size '{t} {unit}' in <{}> is too large (at {path}, line {})",
            c.name, c.line
        ))
    })?;
    Ok(bytes.div_ceil(1024))
}

/// `<memory>` must be given and not 0; `<currentMemory>`, when given, not 0 either.
pub(super) fn check_sizes(dom: &Domain) -> Result<()> {
    if dom.memory_kib == 0 {
        return Err(Error::xml(format!(
            "XML error: memory size of domain '{}' must be given and greater than 0: add <memory unit='KiB'>N</memory>",
            dom.name
        )));
    }
    if dom.current_memory_kib == Some(0) {
        return Err(Error::xml(format!(
            "XML error: <currentMemory> of domain '{}' must be greater than 0",
            dom.name
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_follow_libvirt() {
        assert_eq!(unit_scale("KB"), Some(1000));
        assert_eq!(unit_scale("k"), Some(1024));
        assert_eq!(unit_scale("KiB"), Some(1024));
        assert_eq!(unit_scale("MB"), Some(1_000_000));
        assert_eq!(unit_scale("M"), Some(1 << 20));
        assert_eq!(unit_scale("GiB"), Some(1 << 30));
        assert_eq!(unit_scale("TB"), Some(1_000_000_000_000));
        assert_eq!(unit_scale("T"), Some(1 << 40));
        assert_eq!(unit_scale("bytes"), Some(1));
        assert_eq!(unit_scale("x"), None);
    }
}
