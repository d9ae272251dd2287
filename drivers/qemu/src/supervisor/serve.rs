//! A running VM's event loop: QMP events turned into state changes and lifecycle actions
//! (`on_poweroff`, `on_reboot`, `on_crash`), control connections handed to
//! [`super::requests`], QEMU's exit awaited; then the cleanup (labels restored through
//! the journal — QEMU is gone by then —, files removed, the stop reason recorded).

use super::log::log_line;
use super::qemu::Qemu;
use super::requests::send_reply;
use super::vm::{cleanup_files, Supervisor};
use crate::control::Reply;
use crate::qmp::{Qmp, QmpEvent};
use crate::status::write_atomic;
use oxvirt_core::driver::{DomainState, StateReason};
use serde_json::Value;
use std::time::Duration;
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixListener;

impl Supervisor {
    pub(super) fn new(
        spec: crate::control::LaunchSpec,
        status: crate::status::Status,
        qemu: Qemu,
    ) -> Supervisor {
        Supervisor {
            spec,
            status,
            qemu,
            stop_reason: None,
            expected_stops: 0,
            expected_resumes: 0,
        }
    }

    pub(super) async fn serve(mut self, mut qmp: Qmp, listener: UnixListener) {
        let mut monitor_open = true;
        let mut pending_destroy: Option<OwnedWriteHalf> = None;
        loop {
            tokio::select! {
                ev = qmp.next_event(), if monitor_open => match ev {
                    Some(ev) => self.on_event(&mut qmp, ev).await,
                    None => monitor_open = false,
                },
                _ = self.qemu.wait() => break,
                conn = listener.accept() => {
                    if let Ok((stream, _)) = conn {
                        if let Some(destroying) = self.on_request(&mut qmp, stream).await {
                            pending_destroy = Some(destroying);
                            break;
                        }
                    }
                }
            }
        }
        self.finish(pending_destroy).await;
    }

    pub(super) fn set_state(&mut self, state: DomainState, reason: StateReason) {
        if self.status.state == state && self.status.reason == reason {
            return;
        }
        let before = (self.status.state, self.status.reason);
        self.status.state = state;
        self.status.reason = reason;
        if let Err(e) = self.status.write(&self.spec.status) {
            log_line(&self.spec.log, &format!("cannot update status: {e}"));
        }
        self.announce(Some(before), (state, reason));
    }

    async fn on_event(&mut self, qmp: &mut Qmp, ev: QmpEvent) {
        log_line(&self.spec.log, &format!("event {} {}", ev.event, ev.data));
        match ev.event.as_str() {
            "SHUTDOWN" => {
                let guest = ev
                    .data
                    .get("guest")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if self.stop_reason.is_some() && !guest {
                    return; // our own quit or signal
                }
                self.lifecycle(qmp, &self.spec.on_poweroff.clone(), StateReason::Shutdown)
                    .await;
            }
            "RESET" => {
                let guest = ev
                    .data
                    .get("guest")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if guest && self.spec.on_reboot == "destroy" {
                    self.lifecycle(qmp, "destroy", StateReason::Shutdown).await;
                }
            }
            "GUEST_PANICKED" => {
                self.lifecycle(qmp, &self.spec.on_crash.clone(), StateReason::Crashed)
                    .await;
            }
            "STOP" if self.expected_stops > 0 => self.expected_stops -= 1,
            "RESUME" if self.expected_resumes > 0 => self.expected_resumes -= 1,
            "STOP" if self.status.state == DomainState::Running && self.stop_reason.is_none() => {
                self.set_state(DomainState::Paused, StateReason::Unknown);
            }
            "RESUME" if self.status.state == DomainState::Paused && self.stop_reason.is_none() => {
                self.set_state(DomainState::Running, StateReason::Unpaused);
            }
            _ => {}
        }
    }

    /// Apply an `on_*` action after the guest powered off or crashed.
    async fn lifecycle(&mut self, qmp: &mut Qmp, action: &str, reason: StateReason) {
        match action {
            "restart" | "rename-restart" | "coredump-restart" => {
                // -no-shutdown paused the guest (one STOP); our cont resumes it.
                self.expected_stops += u32::from(reason == StateReason::Shutdown);
                self.expected_resumes += 1;
                let _ = qmp.execute("system_reset", None).await;
                let _ = qmp.execute("cont", None).await;
                self.set_state(DomainState::Running, StateReason::Booted);
            }
            "preserve" => {
                self.expected_stops += u32::from(reason == StateReason::Shutdown);
                let state = if reason == StateReason::Crashed {
                    DomainState::Crashed
                } else {
                    DomainState::Paused
                };
                self.set_state(state, StateReason::PausedShuttingDown);
            }
            _ => {
                self.stop_reason = Some(reason);
                if qmp.execute("quit", None).await.is_err() {
                    self.qemu.signal(nix::sys::signal::Signal::SIGTERM);
                }
            }
        }
    }

    /// QEMU is exiting or must exit: make sure it is gone, clean up, record why.
    async fn finish(mut self, destroy_reply: Option<OwnedWriteHalf>) {
        if self.stop_reason == Some(StateReason::Destroyed) {
            self.qemu.signal(nix::sys::signal::Signal::SIGTERM);
            let grace = Duration::from_secs(self.spec.destroy_grace_seconds);
            if tokio::time::timeout(grace, self.qemu.wait()).await.is_err() {
                log_line(&self.spec.log, "QEMU ignored SIGTERM; sending SIGKILL");
                self.qemu.signal(nix::sys::signal::Signal::SIGKILL);
            }
        }
        self.qemu.wait().await;
        let reason = self.stop_reason.unwrap_or(StateReason::Crashed);
        log_line(
            &self.spec.log,
            &format!("shutting down, reason={}", reason.as_status_str()),
        );
        if self.spec.persistent {
            let _ = write_atomic(&self.spec.shutoff_reason, reason.as_status_str().as_bytes());
        }
        if let Err(e) = crate::security::recover(&self.spec.journal) {
            log_line(&self.spec.log, &format!("restoring labels failed: {e}"));
        }
        cleanup_files(&self.spec);
        // Announced before the destroy's reply: the caller's events come first.
        let before = (self.status.state, self.status.reason);
        self.announce(Some(before), (DomainState::Shutoff, reason));
        if let Some(mut w) = destroy_reply {
            send_reply(&mut w, &Reply::ok(None)).await;
        }
    }
}
