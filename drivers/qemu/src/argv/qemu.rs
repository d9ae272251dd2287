//! The `qemu:` namespace (`<qemu:commandline>`: extra args and env), named as core names it.
//!
//! `<qemu:arg>`s go after the devices, before `-sandbox` and `-msg`, where libvirt puts
//! them. The environment is libvirt's standard one (`LC_ALL=C`, a fixed `PATH`, `HOME`
//! and the `XDG_*` directories in the VM's private directory), `TZ` for
//! `<clock offset='timezone'>`, then the `<qemu:env>`s, whose names must be letters,
//! digits and `_`.

use super::plan::Plan;
use super::props::Args;
use oxvirt_core::{Error, Result};

const PATH_ENV: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The `<qemu:arg>`s, verbatim.
pub(crate) fn args(p: &Plan<'_>, a: &mut Args) -> Result<()> {
    if let Some(cl) = &p.dom.qemu_commandline {
        a.raw(cl.args.iter().cloned());
    }
    Ok(())
}

/// QEMU's environment.
pub(crate) fn env(p: &Plan<'_>) -> Result<Vec<(String, String)>> {
    let dir = p.ctx.domain_dir.to_string_lossy();
    let mut env = vec![
        ("LC_ALL".to_string(), "C".to_string()),
        ("PATH".to_string(), PATH_ENV.to_string()),
        ("HOME".to_string(), dir.to_string()),
        ("XDG_DATA_HOME".to_string(), format!("{dir}/.local/share")),
        ("XDG_CACHE_HOME".to_string(), format!("{dir}/.cache")),
        ("XDG_CONFIG_HOME".to_string(), format!("{dir}/.config")),
    ];
    if let Some(tz) = p.dom.clock.as_ref().and_then(|c| c.timezone.as_ref()) {
        env.push(("TZ".to_string(), tz.clone()));
    }
    if let Some(cl) = &p.dom.qemu_commandline {
        for (k, v) in &cl.env {
            if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(Error::unsupported(format!(
                    "<qemu:env name='{k}'>: the name must be letters, digits and '_'"
                )));
            }
            env.push((k.clone(), v.clone().unwrap_or_default()));
        }
    }
    Ok(env)
}
