//! The control protocol between the driver (any process that opens the root) and a VM's
//! supervisor: one JSON request line, one JSON reply line, over the supervisor's unix
//! socket (`run/qemu/domain-ID-NAME.ctl`, mode 0600: the managing uid only). Also the
//! launch spec the driver hands a new supervisor on its stdin.

use oxvirt_core::{Error, ErrorCode, ErrorDomain};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A request to a supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// Pause the vCPUs (`stop`).
    Suspend,
    /// Resume the vCPUs (`cont`).
    Resume,
    /// Stop QEMU: SIGTERM, SIGKILL after the grace period. The reply comes after cleanup.
    Destroy,
    /// Press the ACPI power button (`system_powerdown`).
    Powerdown,
    /// Mark the running domain transient or persistent.
    SetPersistent { persistent: bool },
    /// Pass a QMP command object (JSON text) to QEMU; the reply object comes back.
    Monitor { command: String },
}

/// A supervisor's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// libvirt error number when `ok` is false.
    #[serde(default)]
    pub code: i32,
}

impl Reply {
    pub fn ok(result: Option<Value>) -> Reply {
        Reply {
            ok: true,
            result,
            error: None,
            code: 0,
        }
    }
    pub fn err(e: &Error) -> Reply {
        Reply {
            ok: false,
            result: None,
            error: Some(e.message.clone()),
            code: e.code.number(),
        }
    }
}

/// Why a call could not reach a supervisor (as opposed to the supervisor refusing).
#[derive(Debug)]
pub enum CallError {
    /// Nobody listens: the supervisor is gone.
    Unreachable(std::io::Error),
    /// The supervisor answered with an error, or the exchange broke.
    Failed(Error),
}

/// Send `req` to the supervisor at `socket` and wait up to `timeout` for the reply.
pub fn call(
    socket: &Path,
    req: &Request,
    timeout: Duration,
) -> std::result::Result<Option<Value>, CallError> {
    let mut stream = UnixStream::connect(socket).map_err(CallError::Unreachable)?;
    let broken = |e: std::io::Error| {
        CallError::Failed(Error::operation_failed(format!(
            "lost the VM supervisor at '{}': {e}",
            socket.display()
        )))
    };
    stream.set_read_timeout(Some(timeout)).map_err(broken)?;
    let mut line =
        serde_json::to_vec(req).map_err(|e| CallError::Failed(Error::internal(e.to_string())))?;
    line.push(b'\n');
    stream.write_all(&line).map_err(broken)?;
    let mut reply = String::new();
    BufReader::new(&stream)
        .read_line(&mut reply)
        .map_err(broken)?;
    if reply.is_empty() {
        return Err(broken(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the supervisor closed the connection",
        )));
    }
    let reply: Reply = serde_json::from_str(&reply).map_err(|e| {
        CallError::Failed(Error::internal(format!(
            "bad reply from the VM supervisor: {e}"
        )))
    })?;
    if reply.ok {
        Ok(reply.result)
    } else {
        let code = match reply.code {
            55 => ErrorCode::OperationInvalid,
            68 => ErrorCode::OperationTimeout,
            8 => ErrorCode::InvalidArg,
            1 => ErrorCode::InternalError,
            _ => ErrorCode::OperationFailed,
        };
        Err(CallError::Failed(Error::new(
            code,
            ErrorDomain::Qemu,
            reply.error.unwrap_or_default(),
        )))
    }
}

/// A QEMU process for a supervisor to start or to take over ([`Mode`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchSpec {
    pub name: String,
    pub id: u32,
    pub persistent: bool,
    pub monitor: PathBuf,
    pub control: PathBuf,
    pub runtime_dir: PathBuf,
    pub domain_dir: PathBuf,
    pub log: PathBuf,
    pub status: PathBuf,
    pub shutoff_reason: PathBuf,
    /// The live domain XML for the status file.
    pub domain_xml: String,
    pub on_poweroff: String,
    pub on_reboot: String,
    pub on_crash: String,
    pub destroy_grace_seconds: u64,
    /// The security stack and cgroup settings.
    pub security: crate::security::SecuritySpec,
    /// `run/qemu/NAME.journal`.
    pub journal: PathBuf,
    /// An inherited descriptor holding the domain's lock while the VM starts; the
    /// supervisor closes it once the start is over.
    pub lock_fd: Option<i32>,
    pub mode: Mode,
}

/// Start a new QEMU, or take over one whose supervisor died.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Start(Box<StartPlan>),
    /// A QEMU that already runs: its pid and start time.
    Adopt {
        pid: u32,
        start_time: u64,
    },
}

/// What a new QEMU is: its command and its security plan (labels, resources, the
/// confinement the launcher applies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartPlan {
    pub binary: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The argv as one shell line, for the log.
    pub command_line: String,
    /// Why the domain is tainted (`custom-argv`, `custom-hypervisor-feature`, ...):
    /// logged as "Domain id=N is tainted: REASON" after the command line, as libvirt does.
    pub taints: Vec<String>,
    pub security: crate::security::SecurityPlan,
}
