//! Native formats: `domxml-to-native qemu-argv` (the argv `start` would run, built by the
//! same code) and `domxml-from-native qemu-argv` (see `native.rs`).

use crate::argv::{self, ArgvContext};
use crate::driver::QemuDriver;
use oxvirt_core::domain::{format_domain_xml, parse_domain_xml, FormatOptions};
use oxvirt_core::{Error, Result};

pub(crate) fn xml_to_native(drv: &QemuDriver, format: &str, xml: &str) -> Result<String> {
    check_native_format(format)?;
    let dom = parse_domain_xml(xml)?;
    let emulator = drv.emulator(&dom)?;
    let caps = drv.caps_for(&emulator)?;
    // As libvirt: the paths a VM with id -1 would use; nothing is created.
    let runtime_dir = drv.layout.runtime_dir(0, &dom.name);
    let domain_dir = drv.layout.domain_dir(0, &dom.name);
    let monitor = runtime_dir.join("monitor.sock");
    let ctx = ArgvContext {
        emulator: &emulator,
        monitor_socket: &monitor,
        domain_dir: &domain_dir,
        for_native_export: true,
        seccomp_sandbox: drv.config.seccomp_sandbox,
        vnc_listen: &drv.config.vnc_listen,
    };
    let cmd = argv::build_with_caps(&dom, &ctx, &caps)?;
    Ok(cmd.to_shell_line())
}

pub(crate) fn xml_from_native(_drv: &QemuDriver, format: &str, native: &str) -> Result<String> {
    check_native_format(format)?;
    let (dom, warnings) = crate::native::from_argv_line(native)?;
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let xml = format_domain_xml(&dom, FormatOptions::default());
    // Without -name there is no name, and libvirt 0.7 printed none.
    Ok(if dom.name.is_empty() {
        xml.replace("  <name></name>\n", "")
            .replace("  <name/>\n", "")
    } else {
        xml
    })
}

fn check_native_format(format: &str) -> Result<()> {
    if format != "qemu-argv" {
        return Err(Error::invalid_arg(format!(
            "invalid argument: unsupported config type {format}"
        )));
    }
    Ok(())
}
