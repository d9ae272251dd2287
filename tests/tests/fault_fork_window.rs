//! Fault injection around QEMU's fork (issue 9.5). Each run starts a VM through the
//! CLI with the supervisor's test seam (`OXVIRT_TEST_PAUSE_AT=POINT[:MS]`, see
//! `supervisor::PAUSE_POINTS`) holding it at a random point of the start, for a random
//! time or until killed, then SIGKILLs the supervisor, the CLI or both in a random order
//! after a random delay; once every supervisor of the run (found by its environment)
//! is gone or serves a running VM, it opens the root again and checks what an operator
//! would: no orphan QEMU (every QEMU of the root, found by scanning `/proc`, is the one
//! the status file names, and the supervisor it names — QEMU's parent, or one that
//! adopted it — is alive), the listed state
//! matches whether a QEMU runs, the disk is owned by QEMU's user exactly while a QEMU
//! runs (and given back, without `trusted.*` xattrs, once none does), and a CLI that
//! survived reported success exactly when a VM was left running. A watcher thread
//! samples the whole time that no file is given back while its QEMU lives.
//!
//! Seeded: the seed is printed; `OXVIRT_FAULT_SEED=N` replays a sequence and
//! `OXVIRT_FAULT_RUNS=N` changes the number of runs (default 50). Runs QEMU under DAC as
//! the test user (root needed). QEMU boots no guest (no kernel: SeaBIOS finds nothing
//! to boot), so a run costs well under two seconds.

mod dac_common;

use dac_common::{bin, owner, qemu_user, trusted_xattrs, wait_gone, Env};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The supervisor's pause points (drivers/qemu/src/supervisor/mod.rs `PAUSE_POINTS`).
const POINTS: &[&str] = &[
    "labelled", "forked", "recorded", "execd", "monitor", "running",
];

/// xorshift64*: enough randomness, no dependency, replayable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A live (not zombie) QEMU process of the root: pid, parent pid, start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Qemu {
    pid: u32,
    ppid: u32,
    start: u64,
}

/// `/proc/PID/stat`'s state, ppid and start time.
fn stat(pid: u32) -> Option<(char, u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((
        f[0].chars().next()?,
        f[1].parse().ok()?,
        f[19].parse().ok()?,
    ))
}

fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Every live QEMU whose command line names a path under `root`.
fn qemus_of(root: &Path) -> Vec<Qemu> {
    let root = root.to_string_lossy();
    pids()
        .into_iter()
        .filter_map(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
            let argv0 = String::from_utf8_lossy(args.first()?);
            let ours = argv0.contains("qemu-system")
                && args
                    .iter()
                    .any(|a| String::from_utf8_lossy(a).contains(root.as_ref()));
            let (state, ppid, start) = stat(pid)?;
            (ours && state != 'Z' && state != 'X').then_some(Qemu { pid, ppid, start })
        })
        .collect()
}

fn children_of(parent: u32) -> Vec<u32> {
    pids()
        .into_iter()
        .filter(|p| stat(*p).is_some_and(|(s, ppid, _)| ppid == parent && s != 'Z'))
        .collect()
}

fn is_live_supervisor(pid: u32) -> bool {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
    exe.file_name().is_some_and(|n| n == "oxvirt-supervisor")
        && stat(pid).is_some_and(|(s, _, _)| s != 'Z')
}

fn kill(pid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::SIGKILL,
    );
}

/// Samples, until stopped, that the disk is never back with its original owner while a
/// QEMU of the root lives: QEMU seen alive before and after (same pid and start time)
/// an owner reading that shows the original owner is a violation.
fn watch(root: PathBuf, disk: PathBuf, original: (u32, u32), stop: Arc<AtomicBool>) -> Vec<String> {
    let mut seen = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let before = qemus_of(&root);
        if !before.is_empty() {
            let o = owner(&disk);
            let after = qemus_of(&root);
            for q in before.iter().filter(|q| after.contains(q)) {
                if o == original {
                    seen.push(format!(
                        "disk given back to {o:?} while QEMU pid {} runs",
                        q.pid
                    ));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(3));
    }
    seen
}

/// One fault: where the supervisor pauses, for how long, and who is killed when.
#[derive(Debug, Clone)]
struct Fault {
    /// `None`: no pause, the kill comes at a random time after the CLI started.
    point: Option<&'static str>,
    /// Pause length in ms; `None`: until killed.
    pause_ms: Option<u64>,
    delay_ms: u64,
    kill_supervisor: bool,
    kill_cli: bool,
    supervisor_first: bool,
}

impl Fault {
    fn random(rng: &mut Rng) -> Fault {
        let point = match rng.below(POINTS.len() as u64 + 1) as usize {
            i if i < POINTS.len() => Some(POINTS[i]),
            _ => None,
        };
        let pause_ms = (rng.below(2) == 0).then(|| rng.below(300));
        let (mut kill_supervisor, kill_cli) = match rng.below(4) {
            0 | 1 => (true, true),
            2 => (true, false),
            _ => (false, true),
        };
        // Held until killed, the supervisor must be killed.
        if point.is_some() && pause_ms.is_none() {
            kill_supervisor = true;
        }
        let delay_ms = match point {
            Some(_) => rng.below(40),
            None => rng.below(1500),
        };
        Fault {
            point,
            pause_ms,
            delay_ms,
            kill_supervisor,
            kill_cli,
            supervisor_first: rng.below(2) == 0,
        }
    }

    fn seam(&self) -> Option<String> {
        let p = self.point?;
        Some(match self.pause_ms {
            Some(ms) => format!("{p}:{ms}"),
            None => p.to_string(),
        })
    }
}

/// Wait for the supervisor to announce `point` in `notify`; its pid.
fn wait_notified(notify: &Path, point: &str, cli: &mut Child) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(notify).unwrap_or_default();
        if let Some(pid) = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{point} ")))
            .and_then(|p| p.trim().parse().ok())
        {
            return pid;
        }
        if let Ok(Some(st)) = cli.try_wait() {
            panic!("the start ended ({st}) before the supervisor reached '{point}'");
        }
        assert!(Instant::now() < deadline, "no supervisor reached '{point}'");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Inflict `f` on a start of `fault` in `env`. Returns the CLI's exit code if it was
/// not killed.
fn inflict(env: &Env, f: &Fault, notify: &Path) -> Option<i32> {
    let _ = std::fs::remove_file(notify);
    let mut cmd = Command::new(bin("oxvirt"));
    cmd.arg("-c")
        .arg(env.uri())
        .args(["start", "fault"])
        .env("OXVIRT_TEST_PAUSE_NOTIFY", notify)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(seam) = f.seam() {
        cmd.env("OXVIRT_TEST_PAUSE_AT", seam);
    }
    let mut cli = cmd.spawn().unwrap();
    let cli_pid = cli.id();
    let sup = f.point.map(|p| wait_notified(notify, p, &mut cli));
    std::thread::sleep(Duration::from_millis(f.delay_ms));
    // Without a pause point the supervisor is the CLI's child, if it exists yet.
    let sup = sup.or_else(|| {
        children_of(cli_pid)
            .into_iter()
            .find(|p| is_live_supervisor(*p))
    });
    let mut order = vec![];
    if f.kill_supervisor {
        order.extend(sup);
    }
    if f.kill_cli {
        order.insert(
            usize::from(f.supervisor_first && !order.is_empty()),
            cli_pid,
        );
    }
    for p in &order {
        kill(*p);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let code = loop {
        if let Some(st) = cli.try_wait().unwrap() {
            break st.code();
        }
        assert!(Instant::now() < deadline, "the CLI never finished: {f:?}");
        std::thread::sleep(Duration::from_millis(5));
    };
    if let Some(s) = sup.filter(|_| f.kill_supervisor) {
        assert!(wait_gone(s), "supervisor {s} survived SIGKILL");
    }
    // The CLI is gone, so no supervisor of this run can appear any more; those left
    // alive (not killed, spawned after the kill, or adopting) finish what they do.
    wait_settled(env, notify);
    (!f.kill_cli).then_some(code.unwrap_or(-1))
}

/// The live supervisors of this run: their environment names this run's notify file
/// (QEMU's does not: its environment is built from scratch).
fn supervisors_of(notify: &Path) -> Vec<u32> {
    let tag = format!("OXVIRT_TEST_PAUSE_NOTIFY={}", notify.display());
    pids()
        .into_iter()
        .filter(|p| is_live_supervisor(*p))
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/environ"))
                .unwrap_or_default()
                .split(|b| *b == 0)
                .any(|v| v == tag.as_bytes())
        })
        .collect()
}

/// Until every live supervisor of this run serves a running VM (the status names it
/// and says running) or none is left.
fn wait_settled(env: &Env, notify: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let live = supervisors_of(notify);
        let serving = env.status_attr("fault", "state") == Some(1)
            && live
                .iter()
                .all(|p| env.status_attr("fault", "supervisor") == Some(*p));
        if live.is_empty() || serving {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "supervisors {live:?} never settled"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// After the root is opened again: what runs must be what is listed and owned.
fn check(env: &Env, disk: &Path, uid: u32, f: &Fault, cli_code: Option<i32>, run: usize) {
    let state = env.ok(&["domstate", "--reason", "fault"]);
    let state = state.trim();
    let qemus = qemus_of(env.dir.path());
    let ctx = format!("run {run}: {f:?}, state '{state}', QEMUs {qemus:?}, CLI {cli_code:?}");
    assert!(qemus.len() <= 1, "{ctx}");
    match qemus.first() {
        Some(q) => {
            // Managed: the status file names it and its supervisor lives (the one that
            // started it — its parent — or one that adopted it).
            assert_eq!(
                env.status_attr("fault", "pid"),
                Some(q.pid),
                "orphan QEMU: {ctx}"
            );
            let sup = env.status_attr("fault", "supervisor").unwrap_or(0);
            assert!(is_live_supervisor(sup), "orphan QEMU: {ctx}");
            assert!(
                q.ppid == sup || q.ppid == 1 || !is_live_supervisor(q.ppid),
                "{ctx}"
            );
            assert!(
                state.starts_with("running") || state.starts_with("paused"),
                "QEMU runs but the domain is listed '{state}': {ctx}"
            );
            assert_eq!(owner(disk).0, uid, "{ctx}");
            assert_ne!(cli_code, Some(1), "a failed start left a VM running: {ctx}");
        }
        None => {
            assert!(state.starts_with("shut off"), "{ctx}");
            assert_eq!(owner(disk), env.owner, "{ctx}");
            assert!(trusted_xattrs(disk).is_empty(), "{ctx}");
            assert!(!env.path("run/qemu/fault.journal").exists(), "{ctx}");
            assert!(!env.path("run/qemu/fault.xml").exists(), "{ctx}");
            assert_ne!(
                cli_code,
                Some(0),
                "a start reported started left no VM: {ctx}"
            );
        }
    }
}

/// Kills whatever QEMU of the root is left when the test ends, even by a failed
/// assertion (an orphan is exactly what it may find).
struct KillLeftovers(PathBuf);

impl Drop for KillLeftovers {
    fn drop(&mut self) {
        for q in qemus_of(&self.0) {
            kill(q.pid);
        }
    }
}

fn seed() -> u64 {
    match std::env::var("OXVIRT_FAULT_SEED") {
        Ok(s) => s.parse().expect("OXVIRT_FAULT_SEED is a number"),
        Err(_) => {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        }
    }
}

#[test]
fn fault_sigkill_around_the_fork_leaves_no_orphan_and_no_file_given_back() {
    let (uid, _) = qemu_user();
    let env = Env::new(&format!(
        "user = \"{0}\"\ngroup = \"{0}\"\n",
        dac_common::USER
    ));
    let _leftovers = KillLeftovers(env.dir.path().to_path_buf());
    let disk = env.path("disk.img");
    let xml = env.path("fault.xml");
    std::fs::write(
        &xml,
        format!(
            "<domain type='qemu'><name>fault</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>\
             <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\
             <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{}'/>\
             <target dev='vda' bus='virtio'/></disk></devices></domain>",
            disk.display()
        ),
    )
    .unwrap();
    env.ok(&["define", xml.to_str().unwrap()]);
    let runs: usize = std::env::var("OXVIRT_FAULT_RUNS")
        .map(|r| r.parse().expect("OXVIRT_FAULT_RUNS is a number"))
        .unwrap_or(50);
    let seed = seed();
    println!("fault injection: seed {seed} (replay with OXVIRT_FAULT_SEED={seed}), {runs} runs");
    let mut rng = Rng(seed);
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (root, d, o, s) = (
            env.dir.path().to_path_buf(),
            disk.clone(),
            env.owner,
            stop.clone(),
        );
        std::thread::spawn(move || watch(root, d, o, s))
    };
    let (mut running, mut stopped) = (0, 0);
    for run in 0..runs {
        let f = Fault::random(&mut rng);
        let code = inflict(&env, &f, &env.path(&format!("notify-{run}")));
        check(&env, &disk, uid, &f, code, run);
        if !qemus_of(env.dir.path()).is_empty() {
            running += 1;
            env.ok(&["destroy", "fault"]);
            assert!(
                qemus_of(env.dir.path()).is_empty(),
                "run {run}: destroy left QEMU"
            );
        } else {
            stopped += 1;
        }
        assert_eq!(owner(&disk), env.owner, "run {run}: {f:?}");
    }
    stop.store(true, Ordering::Relaxed);
    let violations = watcher.join().unwrap();
    println!("{running} runs left a running VM, {stopped} none");
    assert!(violations.is_empty(), "seed {seed}: {violations:?}");
}
