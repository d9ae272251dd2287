//! `<on_poweroff>`, `<on_reboot>`, `<on_crash>` and `<pm>`.

use super::util::{
    check_attrs, leaf, one_of, plain_children, req_attr, set_once, text, unsupported_element,
    yes_no,
};
use crate::domain::model::{LifecycleAction, Pm};
use crate::domain::xmltree::Node;
use crate::error::{Error, Result};

/// An `on_*` action; the coredump ones only for `on_crash` (`crash`).
pub(super) fn parse_action(c: &Node, path: &str, crash: bool) -> Result<LifecycleAction> {
    leaf(c, path, &[])?;
    let t = text(c);
    let mut table = vec![
        ("destroy", LifecycleAction::Destroy),
        ("restart", LifecycleAction::Restart),
        ("preserve", LifecycleAction::Preserve),
        ("rename-restart", LifecycleAction::RenameRestart),
    ];
    if crash {
        table.push(("coredump-destroy", LifecycleAction::CoredumpDestroy));
        table.push(("coredump-restart", LifecycleAction::CoredumpRestart));
    }
    table
        .iter()
        .find(|(n, _)| *n == t)
        .map(|(_, a)| *a)
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            Error::xml(format!(
                "XML error: invalid value '{t}' for <{}> (at {path}, line {}): expected {}",
                c.name,
                c.line,
                one_of(&names)
            ))
        })
}

pub(super) fn parse_pm(c: &Node, path: &str) -> Result<Pm> {
    check_attrs(c, path, &[])?;
    let mut pm = Pm::default();
    for child in plain_children(c, path) {
        let (e, p) = child?;
        let slot = match e.name.as_str() {
            "suspend-to-mem" => &mut pm.suspend_to_mem,
            "suspend-to-disk" => &mut pm.suspend_to_disk,
            _ => return Err(unsupported_element(path, e)),
        };
        leaf(e, &p, &["enabled"])?;
        req_attr(e, &p, "enabled")?;
        let v = yes_no(e, &p, "enabled")?.unwrap_or(false);
        set_once(slot, v, path, e)?;
    }
    Ok(pm)
}
