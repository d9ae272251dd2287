//! The QEMU process a supervisor owns — its own child, or adopted from a supervisor
//! that died — held through a pidfd: signals reach that QEMU and no process that reused
//! its pid, and its exit is awaited without polling `/proc`.

use crate::process::Pidfd;
use oxvirt_core::{Error, Result};
use std::time::Duration;
use tokio::io::unix::AsyncFd;

pub(crate) struct Qemu {
    fd: AsyncFd<Pidfd>,
    pub pid: u32,
    pub start_time: u64,
    /// Our own child (reaped here) rather than an adopted process.
    child: bool,
    reaped: bool,
}

impl Qemu {
    fn new(p: Pidfd, child: bool) -> Result<Qemu> {
        let (pid, start_time) = (p.pid, p.start_time);
        // SAFETY: the Pidfd owns its descriptor and nothing replaces or closes it while
        // the AsyncFd holds it (it is only dropped with the AsyncFd).
        let fd = unsafe { AsyncFd::register_with_interest(p, tokio::io::Interest::READABLE) }
            .map_err(|e| Error::system("cannot watch the QEMU process", e))?;
        Ok(Qemu {
            fd,
            pid,
            start_time,
            child,
            reaped: false,
        })
    }

    /// The QEMU this supervisor just started.
    pub(crate) fn child(p: Pidfd) -> Result<Qemu> {
        Qemu::new(p, true)
    }

    /// A running QEMU whose supervisor died, identified by pid and start time.
    pub(crate) fn adopt(pid: u32, start_time: u64) -> Result<Qemu> {
        let p = Pidfd::open(pid, start_time).ok_or_else(|| {
            Error::operation_failed(format!(
                "QEMU pid {pid} (start time {start_time}) is gone; nothing to adopt"
            ))
        })?;
        Qemu::new(p, false)
    }

    pub(crate) fn signal(&self, sig: nix::sys::signal::Signal) {
        if !self.reaped {
            let _ = self.fd.get_ref().signal(sig as libc::c_int);
        }
    }

    /// Wait until the process has exited (and reap it when it is our child).
    pub(crate) async fn wait(&mut self) {
        if self.reaped {
            return;
        }
        match self.fd.readable().await {
            Ok(_guard) => {}
            // Not expected; fall back to polling.
            Err(_) => {
                while crate::process::is_alive(self.pid, self.start_time) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        if self.child {
            let mut status = 0;
            // SAFETY: waitpid on our own child, which has exited; status on this frame.
            unsafe { libc::waitpid(self.pid as libc::pid_t, &mut status, libc::WNOHANG) };
        }
        self.reaped = true;
    }

    /// SIGKILL and wait until it is gone.
    pub(crate) async fn kill(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGKILL);
        self.wait().await;
    }
}
