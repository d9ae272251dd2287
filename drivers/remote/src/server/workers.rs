//! The worker pool that runs calls (driver methods block): libvirt's thread pool shape.
//! `min_workers` threads start up front and more are started, up to `max_workers`, when
//! a call finds none idle; `prio_workers` extra threads run only high-priority calls, so
//! that `destroy` and lookups still run when every normal worker is stuck in a slow call.
//! Calls wait in one queue, in arrival order.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// A pool of worker threads; dropping it stops idle workers.
pub(crate) struct WorkerPool {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes normal workers (any job) and priority workers (high-priority jobs).
    work: Condvar,
    prio_work: Condvar,
    max_workers: usize,
}

#[derive(Default)]
struct State {
    queue: VecDeque<(bool, Job)>,
    workers: usize,
    idle: usize,
    quit: bool,
}

impl WorkerPool {
    pub fn new(min_workers: usize, max_workers: usize, prio_workers: usize) -> WorkerPool {
        let pool = WorkerPool {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                work: Condvar::new(),
                prio_work: Condvar::new(),
                max_workers: max_workers.max(1),
            }),
        };
        for _ in 0..min_workers.min(max_workers) {
            pool.spawn(false);
        }
        for _ in 0..prio_workers {
            pool.spawn(true);
        }
        pool
    }

    /// Run `job` on a worker; `high`: a priority worker may take it.
    pub fn submit(&self, high: bool, job: impl FnOnce() + Send + 'static) {
        let grow = {
            let mut st = lock(&self.shared.state);
            st.queue.push_back((high, Box::new(job)));
            let grow = st.queue.len() > st.idle && st.workers < self.shared.max_workers;
            if grow {
                st.workers += 1; // counted now so that concurrent submits do not overshoot
            }
            grow
        };
        if grow && !self.start(false) {
            lock(&self.shared.state).workers -= 1;
        }
        self.shared.work.notify_one();
        if high {
            self.shared.prio_work.notify_one();
        }
    }

    /// Normal threads started so far.
    #[cfg(test)]
    pub fn workers(&self) -> usize {
        lock(&self.shared.state).workers
    }

    fn spawn(&self, prio: bool) {
        if !prio {
            lock(&self.shared.state).workers += 1;
        }
        if !self.start(prio) && !prio {
            lock(&self.shared.state).workers -= 1;
        }
    }

    /// Start one thread; false (logged) if the system refuses.
    fn start(&self, prio: bool) -> bool {
        let shared = self.shared.clone();
        let name = if prio {
            "oxvirtd-prio"
        } else {
            "oxvirtd-worker"
        };
        match std::thread::Builder::new()
            .name(name.into())
            .spawn(move || worker(&shared, prio))
        {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!("cannot start a worker thread: {e}");
                false
            }
        }
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        lock(&self.shared.state).quit = true;
        self.shared.work.notify_all();
        self.shared.prio_work.notify_all();
    }
}

fn worker(shared: &Shared, prio: bool) {
    loop {
        let job = {
            let mut st = lock(&shared.state);
            loop {
                if st.quit {
                    return;
                }
                let pick = if prio {
                    st.queue.iter().position(|(high, _)| *high)
                } else if st.queue.is_empty() {
                    None
                } else {
                    Some(0)
                };
                if let Some(i) = pick {
                    break st.queue.remove(i).map(|(_, job)| job);
                }
                let cv = if prio {
                    &shared.prio_work
                } else {
                    &shared.work
                };
                if !prio {
                    st.idle += 1;
                }
                st = cv.wait(st).unwrap_or_else(|e| e.into_inner());
                if !prio {
                    st.idle -= 1;
                }
            }
        };
        if let Some(job) = job {
            job();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A job that blocks until released, and reports when it starts.
    fn blocker(
        pool: &WorkerPool,
        high: bool,
        started: &mpsc::Sender<&'static str>,
        name: &'static str,
    ) -> mpsc::Sender<()> {
        let (release, wait) = mpsc::channel::<()>();
        let started = started.clone();
        pool.submit(high, move || {
            started.send(name).unwrap();
            let _ = wait.recv();
        });
        release
    }

    #[test]
    fn grows_to_max_workers_and_queues_beyond() {
        let pool = WorkerPool::new(0, 2, 0);
        assert_eq!(pool.workers(), 0);
        let (tx, rx) = mpsc::channel();
        let a = blocker(&pool, false, &tx, "a");
        let b = blocker(&pool, false, &tx, "b");
        let c = blocker(&pool, false, &tx, "c");
        let t = Duration::from_secs(5);
        let mut first = [rx.recv_timeout(t).unwrap(), rx.recv_timeout(t).unwrap()];
        first.sort();
        assert_eq!(first, ["a", "b"]);
        // The third waits: both workers are busy and the pool is at max_workers.
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        assert_eq!(pool.workers(), 2);
        a.send(()).unwrap();
        assert_eq!(rx.recv_timeout(t).unwrap(), "c");
        drop((b, c));
    }

    #[test]
    fn high_priority_calls_run_when_every_worker_is_stuck() {
        let pool = WorkerPool::new(1, 1, 1);
        let (tx, rx) = mpsc::channel();
        let t = Duration::from_secs(5);
        let stuck = blocker(&pool, false, &tx, "slow");
        assert_eq!(rx.recv_timeout(t).unwrap(), "slow");
        let low = blocker(&pool, false, &tx, "low");
        let high = blocker(&pool, true, &tx, "destroy");
        // The priority worker takes the high-priority call; the low one keeps waiting.
        assert_eq!(rx.recv_timeout(t).unwrap(), "destroy");
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        stuck.send(()).unwrap();
        assert_eq!(rx.recv_timeout(t).unwrap(), "low");
        drop((low, high));
    }

    #[test]
    fn min_workers_start_up_front() {
        let pool = WorkerPool::new(3, 20, 0);
        assert_eq!(pool.workers(), 3);
        let pool = WorkerPool::new(30, 4, 0);
        assert_eq!(pool.workers(), 4);
    }
}
