//! Control requests from the driver (one JSON line each way, see `control.rs`): suspend,
//! resume, powerdown, set-persistent and monitor passthrough are answered at once;
//! destroy is answered after the cleanup.

use super::vm::Supervisor;
use crate::control::{Reply, Request};
use crate::qmp::Qmp;
use oxvirt_core::driver::{DomainState, StateReason};
use oxvirt_core::Error;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixStream;

impl Supervisor {
    /// Handle one control connection; returns the reply channel when the request was
    /// destroy, whose reply is sent after cleanup.
    pub(super) async fn on_request(
        &mut self,
        qmp: &mut Qmp,
        stream: UnixStream,
    ) -> Option<OwnedWriteHalf> {
        let (read, mut write) = stream.into_split();
        let mut line = String::new();
        let read_ok = tokio::time::timeout(
            Duration::from_secs(10),
            BufReader::new(read).take(1 << 20).read_line(&mut line),
        )
        .await;
        let req: Request = match read_ok {
            Ok(Ok(n)) if n > 0 => match serde_json::from_str(&line) {
                Ok(r) => r,
                Err(e) => {
                    let reply =
                        Reply::err(&Error::invalid_arg(format!("bad control request: {e}")));
                    send_reply(&mut write, &reply).await;
                    return None;
                }
            },
            _ => return None,
        };
        let reply = match req {
            Request::Destroy => {
                self.stop_reason = Some(StateReason::Destroyed);
                return Some(write);
            }
            Request::Suspend if self.status.state == DomainState::Paused => Reply::ok(None),
            Request::Resume if self.status.state != DomainState::Paused => Reply::err(
                &Error::operation_invalid("Requested operation is not valid: domain is not paused"),
            ),
            Request::Suspend => {
                self.expected_stops += 1;
                match qmp.execute("stop", None).await {
                    Ok(_) => {
                        self.set_state(DomainState::Paused, StateReason::User);
                        Reply::ok(None)
                    }
                    Err(e) => {
                        self.expected_stops -= 1;
                        Reply::err(&e)
                    }
                }
            }
            Request::Resume => {
                self.expected_resumes += 1;
                match qmp.execute("cont", None).await {
                    Ok(_) => {
                        self.set_state(DomainState::Running, StateReason::Unpaused);
                        Reply::ok(None)
                    }
                    Err(e) => {
                        self.expected_resumes -= 1;
                        Reply::err(&e)
                    }
                }
            }
            Request::Powerdown => match qmp.execute("system_powerdown", None).await {
                Ok(_) => Reply::ok(None),
                Err(e) => Reply::err(&e),
            },
            Request::SetPersistent { persistent } => {
                self.spec.persistent = persistent;
                self.status.persistent = persistent;
                match self.status.write(&self.spec.status) {
                    Ok(()) => Reply::ok(None),
                    Err(e) => Reply::err(&e),
                }
            }
            Request::Monitor { command } => match serde_json::from_str::<Value>(&command) {
                Ok(cmd) => match qmp.execute_raw(cmd).await {
                    Ok(v) => Reply::ok(Some(v)),
                    Err(e) => Reply::err(&e),
                },
                Err(e) => Reply::err(&Error::invalid_arg(format!(
                    "the monitor command is not valid JSON: {e}"
                ))),
            },
        };
        send_reply(&mut write, &reply).await;
        None
    }
}

pub(super) async fn send_reply(write: &mut OwnedWriteHalf, reply: &Reply) {
    if let Ok(mut text) = serde_json::to_vec(reply) {
        text.push(b'\n');
        let _ = write.write_all(&text).await;
    }
}
