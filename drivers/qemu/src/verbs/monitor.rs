//! Monitor passthrough: `qemu-monitor-command` (QMP and HMP) through the VM's supervisor;
//! every use taints the domain (`custom-monitor`), as libvirt.

use crate::control::Request;
use crate::driver::QemuDriver;
use crate::verbs::lifecycle::CONTROL_TIMEOUT;
use oxvirt_core::driver::DomainKey;
use oxvirt_core::{Error, Result};
use std::io::Write;

pub(crate) fn monitor_command(
    drv: &QemuDriver,
    key: &DomainKey,
    command: &str,
    hmp: bool,
) -> Result<String> {
    let e = drv.entry(key)?;
    let Some(st) = &e.status else {
        return Err(Error::operation_invalid(
            "Requested operation is not valid: domain is not running",
        ));
    };
    let msg = if hmp {
        serde_json::json!({
            "execute": "human-monitor-command",
            "arguments": { "command-line": command }
        })
        .to_string()
    } else {
        let v: serde_json::Value = serde_json::from_str(command).map_err(|err| {
            Error::invalid_arg(format!(
                "invalid argument: the QMP command is not JSON ({err}); give an object such as {{\"execute\":\"query-status\"}}, or use --hmp"
            ))
        })?;
        let Some(obj) = v.as_object() else {
            return Err(Error::invalid_arg(
                "invalid argument: a QMP command must be a JSON object",
            ));
        };
        // Like libvirt ("id":"libvirt-N"), the command carries an id that QEMU
        // echoes in the reply; the caller's own id is kept.
        let mut obj = obj.clone();
        obj.entry("id")
            .or_insert_with(|| serde_json::Value::String(format!("oxvirt-{}", std::process::id())));
        serde_json::Value::Object(obj).to_string()
    };
    drv.log_domain(
        &e.name,
        &format!("Domain id={} is tainted: custom-monitor", st.id),
    );
    let reply = drv.monitor_raw(key, &msg)?;
    if hmp {
        if let Some(err) = reply.pointer("/error/desc").and_then(|d| d.as_str()) {
            return Err(Error::operation_failed(format!(
                "operation failed: HMP command failed: {err}"
            )));
        }
        return Ok(reply
            .get("return")
            .and_then(|r| r.as_str())
            .unwrap_or_default()
            .to_string());
    }
    Ok(reply.to_string())
}

impl QemuDriver {
    /// Append a line to the domain's log (libvirt's taint messages).
    pub(crate) fn log_domain(&self, name: &str, msg: &str) {
        if let Ok(mut f) = crate::supervisor::open_log(&self.layout.log_file(name)) {
            let _ = writeln!(f, "{msg}");
        }
    }

    /// Run a QMP command (JSON text) on a running domain; the whole reply object.
    pub fn monitor_raw(&self, key: &DomainKey, command: &str) -> Result<serde_json::Value> {
        self.control(
            key,
            Request::Monitor {
                command: command.to_string(),
            },
            CONTROL_TIMEOUT,
        )
        .map(|v| v.unwrap_or(serde_json::Value::Null))
    }
}
