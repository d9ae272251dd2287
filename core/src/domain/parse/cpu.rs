//! `<vcpu>` and `<cpu>` (mode, model, topology, features).

use super::util::{
    bad_value, check_attrs, leaf, num_attr, plain_children, req_attr, req_text, set_once,
    string_enum_attr, text, unsupported_element,
};
use crate::domain::model::{Cpu, CpuFeature, CpuTopology, Vcpu};
use crate::domain::xmltree::Node;
use crate::error::{Error, Result};

pub(super) fn parse_vcpu(c: &Node, path: &str) -> Result<Vcpu> {
    leaf(c, path, &["placement", "current"])?;
    let t = text(c);
    let count: u32 = t.parse().map_err(|_| {
        Error::xml(format!(
            "XML error: invalid vcpu count '{t}' in <vcpu> (at {path}, line {}): expected a positive integer",
            c.line
        ))
    })?;
    if count == 0 {
        return Err(Error::xml(format!(
            "XML error: vcpu count in <vcpu> must be at least 1 (at {path}, line {})",
            c.line
        )));
    }
    let current: Option<u32> = num_attr(c, path, "current")?;
    if let Some(cur) = current {
        if cur == 0 || cur > count {
            return Err(bad_value(
                c,
                path,
                "current",
                &cur.to_string(),
                &format!("a number between 1 and the maximum vcpu count {count}"),
            ));
        }
    }
    Ok(Vcpu {
        count,
        current,
        placement: string_enum_attr(c, path, "placement", &["static", "auto"])?,
    })
}

pub(super) fn parse_cpu(c: &Node, path: &str) -> Result<Cpu> {
    check_attrs(c, path, &["mode", "match", "check"])?;
    let mut cpu = Cpu {
        mode: string_enum_attr(
            c,
            path,
            "mode",
            &["custom", "host-model", "host-passthrough", "maximum"],
        )?,
        match_: string_enum_attr(c, path, "match", &["minimum", "exact", "strict"])?,
        check: string_enum_attr(c, path, "check", &["none", "partial", "full"])?,
        ..Cpu::default()
    };
    for child in plain_children(c, path) {
        let (e, p) = child?;
        match e.name.as_str() {
            "model" => {
                leaf(e, &p, &["fallback"])?;
                set_once(&mut cpu.model, req_text(e, &p)?, path, e)?;
                cpu.model_fallback = string_enum_attr(e, &p, "fallback", &["allow", "forbid"])?;
            }
            "topology" => set_once(&mut cpu.topology, parse_topology(e, &p)?, path, e)?,
            "feature" => {
                let f = parse_feature(e, &p, &cpu.features)?;
                cpu.features.push(f);
            }
            _ => return Err(unsupported_element(path, e)),
        }
    }
    Ok(cpu)
}

/// `<topology sockets= dies= cores= threads=>`: each count, when given, at least 1.
fn parse_topology(e: &Node, p: &str) -> Result<CpuTopology> {
    leaf(e, p, &["sockets", "dies", "cores", "threads"])?;
    let mut t = CpuTopology::default();
    for (attr, slot) in [
        ("sockets", &mut t.sockets),
        ("dies", &mut t.dies),
        ("cores", &mut t.cores),
        ("threads", &mut t.threads),
    ] {
        *slot = num_attr(e, p, attr)?;
        if *slot == Some(0) {
            return Err(bad_value(e, p, attr, "0", "a positive integer"));
        }
    }
    Ok(t)
}

/// `<feature policy= name=>`, named once only among the `earlier` ones.
fn parse_feature(e: &Node, p: &str, earlier: &[CpuFeature]) -> Result<CpuFeature> {
    leaf(e, p, &["policy", "name"])?;
    let name = req_attr(e, p, "name")?.to_owned();
    if earlier.iter().any(|f| f.name == name) {
        return Err(Error::xml(format!(
            "XML error: CPU feature '{name}' is given more than once (at {p}, line {})",
            e.line
        )));
    }
    Ok(CpuFeature {
        policy: string_enum_attr(
            e,
            p,
            "policy",
            &["force", "require", "optional", "disable", "forbid"],
        )?,
        name,
    })
}
