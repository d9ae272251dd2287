//! Attack (issue 9.3): the files of a root, tried by another local user. A VM with a
//! VNC password runs under DAC (QEMU as the test user). The test checks every file and
//! directory's mode and owner as docs/security.md's "Files" table states them, then, as
//! uid `nobody` (a python3 process with that uid), tries to read every file of the root,
//! list the directories, `flock` the domain's lock file and connect to the control and
//! monitor sockets: all refused. The password is in no file another user can read, and
//! not in the log or the journal at all. A root left by an older build (loose modes) is
//! fixed when it is opened.

mod dac_common;

use dac_common::{qemu_user, Env, USER};
use oxvirt_tests::harness::require;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const PASSWORD: &str = "Pw-7f3a9c-secret";
const NOBODY: u32 = 65534;

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn uid_of(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().uid()
}

/// Run `script` (python3) as uid/gid `nobody` with `args`; its stdout.
fn as_nobody(script: &str, args: &[&Path]) -> String {
    require("/usr/bin/python3", "python3");
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .uid(NOBODY)
        .gid(NOBODY)
        .current_dir("/")
        .output()
        .expect("python3 as nobody");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every attempt another user makes, one line each: `PATH ok|denied (...)`.
const PROBE: &str = r#"
import fcntl, os, socket, sys
for p in sys.argv[1:]:
    try:
        if os.path.isdir(p):
            os.listdir(p); what = "listed"
        elif p.endswith((".ctl", ".sock")):
            s = socket.socket(socket.AF_UNIX); s.connect(p); what = "connected"
        else:
            f = open(p, "rb"); data = f.read()
            if p.endswith(".lock"):
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); what = "locked"
            else:
                what = "read"
        print(p, "ok", what)
    except OSError as e:
        print(p, "denied", e.errno)
"#;

/// Of the files named after the secret (argv[1]), those another user can read, with
/// whether they hold it.
const READ_ALL: &str = r#"
import sys
for p in sys.argv[2:]:
    try:
        data = open(p, "rb").read()
    except OSError:
        continue
    print(p, "SECRET" if sys.argv[1].encode() in data else "plain")
"#;

/// Every regular file under `dir` (listed as root).
fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            all_files(&e.path(), out);
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
}

fn vnc_domain(env: &Env) -> PathBuf {
    let xml = env.path("files.xml");
    std::fs::write(
        &xml,
        format!(
            "<domain type='qemu'><name>files</name><memory unit='MiB'>32</memory>\
             <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\
             <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{}'/>\
             <target dev='vda' bus='virtio'/></disk>\
             <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1' passwd='{PASSWORD}'/>\
             </devices></domain>",
            env.path("disk.img").display()
        ),
    )
    .unwrap();
    // The user's own input file: theirs to protect.
    std::fs::set_permissions(&xml, std::fs::Permissions::from_mode(0o600)).unwrap();
    xml
}

/// The files of a running VM, their most permissive mode, and whether QEMU's user owns
/// them.
fn expected(env: &Env, id: u32) -> Vec<(PathBuf, u32, bool)> {
    let p = |s: &str| env.path(s);
    vec![
        (p("etc/qemu"), 0o700, false),
        (p("etc/qemu/files.xml"), 0o600, false),
        (p("run/qemu"), 0o711, false),
        (p("run/qemu/files.xml"), 0o600, false),
        (p("run/qemu/files.journal"), 0o600, false),
        (p("run/qemu/files.lock"), 0o600, false),
        (p(&format!("run/qemu/domain-{id}-files.ctl")), 0o600, false),
        (p(&format!("run/qemu/domain-{id}-files")), 0o700, true),
        (p("lib/qemu"), 0o711, false),
        (p("lib/qemu/next-id"), 0o600, false),
        (p(&format!("lib/qemu/domain-{id}-files")), 0o700, true),
        (p("log/qemu"), 0o700, false),
        (p("log/qemu/files.log"), 0o600, false),
        (p("cache/qemu"), 0o700, false),
    ]
}

#[test]
fn attack_another_user_reaches_no_file_and_no_secret() {
    let (quid, _) = qemu_user();
    let env = Env::new(&format!("user = \"{USER}\"\ngroup = \"{USER}\"\n"));
    env.ok(&["define", vnc_domain(&env).to_str().unwrap()]);
    env.ok(&["start", "files"]);
    let id = env.status_attr("files", "id").unwrap();
    let files = expected(&env, id);
    for (path, max, qemu_owns) in &files {
        let m = mode(path);
        assert_eq!(
            m & !max,
            0,
            "{} is {m:o}, more than {max:o}",
            path.display()
        );
        let want = if *qemu_owns { quid } else { 0 };
        assert_eq!(uid_of(path), want, "owner of {}", path.display());
    }
    // Another user: every attempt refused (by the file's mode or its directory's).
    let mut targets: Vec<&Path> = files.iter().map(|(p, _, _)| p.as_path()).collect();
    let monitor = env.path(&format!("run/qemu/domain-{id}-files/monitor.sock"));
    targets.push(&monitor);
    let report = as_nobody(PROBE, &targets);
    for line in report.lines() {
        let traversable = line.starts_with(&format!("{} ", env.path("run/qemu").display()))
            || line.starts_with(&format!("{} ", env.path("lib/qemu").display()));
        assert!(
            line.contains(" denied "),
            "another user got in: {line}{}",
            if traversable {
                " (a 0711 directory must not be listable)"
            } else {
                ""
            }
        );
    }
    assert_eq!(report.lines().count(), targets.len(), "{report}");
    // The password: in no file another user can read (every file of the root tried by
    // name), never in the log or the journal.
    let mut every = Vec::new();
    all_files(env.dir.path(), &mut every);
    let mut args: Vec<&Path> = vec![Path::new(PASSWORD)];
    args.extend(every.iter().map(PathBuf::as_path));
    let readable = as_nobody(READ_ALL, &args);
    assert!(!readable.contains("SECRET"), "{readable}");
    assert!(
        readable
            .lines()
            .all(|l| !l.contains("/run/qemu/") && !l.contains("/etc/qemu/")),
        "another user reads the root's state: {readable}"
    );
    for f in ["log/qemu/files.log", "run/qemu/files.journal"] {
        let text = std::fs::read_to_string(env.path(f)).unwrap();
        assert!(!text.contains(PASSWORD), "{f} holds the VNC password");
    }
    let status = std::fs::read_to_string(env.path("run/qemu/files.xml")).unwrap();
    assert!(status.contains(PASSWORD), "the status file keeps it (0600)");
    env.ok(&["destroy", "files"]);
}

#[test]
fn attack_an_older_roots_loose_modes_are_fixed_at_open() {
    qemu_user();
    let env = Env::new(&format!("user = \"{USER}\"\ngroup = \"{USER}\"\n"));
    // What an older build left: world-readable directories and files.
    for d in ["etc/qemu", "run/qemu", "lib/qemu", "log/qemu"] {
        std::fs::create_dir_all(env.path(d)).unwrap();
        std::fs::set_permissions(env.path(d), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let old = [
        "run/qemu/old.lock",
        "run/qemu/old.shutoff",
        "etc/qemu/old.xml",
    ];
    for f in old {
        std::fs::write(env.path(f), b"<domain/>").unwrap();
        std::fs::set_permissions(env.path(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let lock = env.path("run/qemu/old.lock");
    let before = as_nobody(PROBE, &[&lock]);
    assert!(before.contains(" ok locked"), "the old hole: {before}");
    env.run(&["list", "--all"]);
    for f in old {
        assert_eq!(mode(&env.path(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&env.path("run/qemu")), 0o711);
    assert_eq!(mode(&env.path("etc/qemu")), 0o700);
    let after = as_nobody(PROBE, &[&lock]);
    assert!(after.contains(" denied "), "{after}");
}
