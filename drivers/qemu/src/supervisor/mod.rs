//! The per-VM supervisor: the process that owns one QEMU for its whole life.
//!
//! The driver starts it (binary `oxvirt-supervisor`) with a [`LaunchSpec`] on stdin and
//! waits for one line on its stdout: `OK` once QEMU runs, or `ERR <message>`. The
//! supervisor then detaches (new session) and outlives the process that started it. It
//! is QEMU's parent, so QEMU is reaped the moment it exits (this matters where PID 1
//! reaps orphans late); it holds the QMP connection, turns events into state changes
//! and lifecycle actions, answers control requests ([`crate::control`]), is the only
//! writer of the status file, and cleans up when QEMU exits. With [`Mode::Adopt`] it
//! takes over a QEMU whose supervisor died.
//!
//! Files: `start.rs` (getting QEMU: started under its confinement or adopted),
//! `vm.rs` (what the event loop tracks), `serve.rs` (the event loop and the cleanup),
//! `requests.rs` (control requests), `qemu.rs` (the process, through a pidfd),
//! `log.rs` (the domain log), `pause.rs` (the fault-injection test seam).
//!
//! [`Mode::Adopt`]: crate::control::Mode::Adopt

mod log;
mod pause;
mod qemu;
mod requests;
mod serve;
mod start;
mod vm;

use crate::control::LaunchSpec;
pub(crate) use log::open_append as open_log;
use log::{log_line, log_tail};
pub use pause::PAUSE_POINTS;
use std::io::Write;

/// Entry point of the `oxvirt-supervisor` binary.
pub fn main() -> i32 {
    let mut input = String::new();
    if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut input) {
        println!("ERR cannot read the launch spec: {e}");
        return 1;
    }
    let spec: LaunchSpec = match serde_json::from_str(&input) {
        Ok(s) => s,
        Err(e) => {
            println!("ERR bad launch spec: {e}");
            return 1;
        }
    };
    if let Some(fd) = spec.lock_fd {
        // Keep the lock out of QEMU: close it on exec, and close it once started.
        let _ = nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
    }
    let _ = nix::unistd::setsid();
    // What the supervisor creates (status, journal, log, sockets) is the managing uid's.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            println!("ERR cannot start the event loop: {e}");
            return 1;
        }
    };
    rt.block_on(run(spec))
}

/// Tell the waiting driver how the start went, then stop talking on stdout.
fn report(line: &str) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    // Point fd 1 at /dev/null: the driver stops reading after this line.
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 1);
    }
}

async fn run(spec: LaunchSpec) -> i32 {
    let log_start = std::fs::metadata(&spec.log).map(|m| m.len()).unwrap_or(0);
    let lock_fd = spec.lock_fd;
    let release_lock = || {
        if let Some(fd) = lock_fd {
            let _ = nix::unistd::close(fd);
        }
    };
    match start::start(spec).await {
        Ok((sup, qmp, listener)) => {
            if matches!(sup.spec.mode, crate::control::Mode::Start(_)) {
                // Announced before the OK: the starter's events come first.
                sup.announce(None, (sup.status.state, sup.status.reason));
            }
            release_lock();
            report("OK");
            sup.serve(qmp, listener).await;
            0
        }
        Err((spec, e)) => {
            let command_line = match &spec.mode {
                crate::control::Mode::Start(p) => p.command_line.as_str(),
                crate::control::Mode::Adopt { .. } => "",
            };
            let tail = log_tail(&spec.log, log_start, command_line);
            let msg = if tail.is_empty() {
                e.message.clone()
            } else {
                format!("{}: {}", e.message, tail.replace('\n', " | "))
            };
            log_line(&spec.log, &format!("start failed: {msg}"));
            // QEMU is gone here (start kills it before returning an error).
            if let Err(e) = crate::security::recover(&spec.journal) {
                log_line(&spec.log, &format!("restoring labels failed: {e}"));
            }
            vm::cleanup_files(&spec);
            release_lock();
            report(&format!("ERR {msg}"));
            1
        }
    }
}
