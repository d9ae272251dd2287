//! The escape cells the probe tries from inside a VM's confinement (see the
//! `oxvirt-escape-probe` binary and `tests/escape_matrix.rs`). Each cell is one real
//! attempt with raw system calls; its result is `ok` (the access worked: for the own
//! disk that is required, for everything else it is an escape) or `denied: WHY`.
//! Nothing a cell does is left behind: files it creates are removed, mounts unmounted,
//! and a tracee is released when the probe exits.

use std::ffi::CString;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// What the probe attacks, from `KEY=VALUE` arguments.
#[derive(Debug, Default, Clone)]
pub struct Targets {
    /// The VM's own disk (must be readable and writable).
    pub own_disk: PathBuf,
    /// A directory the VM may write (its private directory).
    pub own_dir: PathBuf,
    pub other_disk: PathBuf,
    pub other_qmp: PathBuf,
    /// The other VM's runtime directory (`run/qemu/domain-ID-B`).
    pub other_run_dir: PathBuf,
    pub other_pid: u32,
    /// The driver's root (its `etc/qemu.toml` and the other VM's `etc/qemu/B.xml`).
    pub root: PathBuf,
    pub other_name: String,
    /// A host block device.
    pub block: Option<PathBuf>,
    /// An empty directory to mount on.
    pub mnt: PathBuf,
    pub daemon_socket: PathBuf,
    pub tcp_port: u16,
    pub abstract_name: String,
}

impl Targets {
    pub fn from_args(args: &[String]) -> Targets {
        let mut t = Targets::default();
        for a in args {
            let Some((k, v)) = a.split_once('=') else {
                continue;
            };
            match k {
                "own_disk" => t.own_disk = v.into(),
                "own_dir" => t.own_dir = v.into(),
                "other_disk" => t.other_disk = v.into(),
                "other_qmp" => t.other_qmp = v.into(),
                "other_run_dir" => t.other_run_dir = v.into(),
                "other_pid" => t.other_pid = v.parse().unwrap_or(0),
                "root" => t.root = v.into(),
                "other_name" => t.other_name = v.into(),
                "block" => t.block = Some(v.into()),
                "mnt" => t.mnt = v.into(),
                "daemon_socket" => t.daemon_socket = v.into(),
                "tcp_port" => t.tcp_port = v.parse().unwrap_or(0),
                "abstract" => t.abstract_name = v.into(),
                _ => {}
            }
        }
        t
    }

    /// As `KEY=VALUE` arguments for the probe.
    pub fn to_args(&self) -> Vec<String> {
        let mut v = vec![
            format!("own_disk={}", self.own_disk.display()),
            format!("own_dir={}", self.own_dir.display()),
            format!("other_disk={}", self.other_disk.display()),
            format!("other_qmp={}", self.other_qmp.display()),
            format!("other_run_dir={}", self.other_run_dir.display()),
            format!("other_pid={}", self.other_pid),
            format!("root={}", self.root.display()),
            format!("other_name={}", self.other_name),
            format!("mnt={}", self.mnt.display()),
            format!("daemon_socket={}", self.daemon_socket.display()),
            format!("tcp_port={}", self.tcp_port),
            format!("abstract={}", self.abstract_name),
        ];
        if let Some(b) = &self.block {
            v.push(format!("block={}", b.display()));
        }
        v
    }
}

/// The cells, in the order of the table (name, what it tries).
pub const CELLS: &[(&str, &str)] = &[
    ("own_disk", "read and write its own disk"),
    ("other_disk", "open the other VM's disk read-write"),
    ("etc_shadow", "read /etc/shadow"),
    ("write_etc", "create a file in /etc"),
    ("write_root_home", "create a file in /root"),
    ("host_block", "open a host block device"),
    ("dev_mem", "open /dev/mem"),
    (
        "other_run_dir",
        "create a file in the other VM's runtime directory",
    ),
    ("other_qmp", "talk QMP on the other VM's monitor socket"),
    ("ptrace_other", "ptrace the other QEMU (PTRACE_SEIZE)"),
    ("signal_other", "signal the other QEMU (kill 0)"),
    ("other_environ", "read the other QEMU's /proc/PID/environ"),
    ("other_mem", "open the other QEMU's /proc/PID/mem"),
    ("write_config", "open ROOT/etc/qemu.toml for writing"),
    (
        "write_other_xml",
        "open the other VM's ROOT/etc/qemu/B.xml for writing",
    ),
    ("setuid_file", "create a root-owned setuid file"),
    ("cap_raise", "raise CAP_SYS_ADMIN (capset)"),
    ("mount", "mount a tmpfs"),
    ("userns_mount", "unshare -U -m, then mount a tmpfs"),
    ("daemon_socket", "connect to the daemon's read-write socket"),
    ("tcp_connect", "TCP connect to a host port"),
    (
        "abstract_unix",
        "connect to the other VM's abstract unix socket",
    ),
];

fn errno_text() -> String {
    io_text(std::io::Error::last_os_error())
}

/// `denied: ENAME` for the error numbers the cells meet.
fn io_text(e: std::io::Error) -> String {
    let n = e.raw_os_error().unwrap_or(0);
    let name = match n {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EACCES => "EACCES",
        libc::EBUSY => "EBUSY",
        libc::EINVAL => "EINVAL",
        libc::EROFS => "EROFS",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EXDEV => "EXDEV",
        0 => return format!("denied: {e}"),
        _ => return format!("denied: errno {n}"),
    };
    format!("denied: {name}")
}

fn cpath(p: &std::path::Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).unwrap_or_default()
}

/// `open(path, flags)`, closed again; `ok` or why not.
fn try_open(path: &std::path::Path, flags: libc::c_int) -> String {
    let c = cpath(path);
    // SAFETY: open of a NUL-terminated path; the descriptor is closed right away.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC, 0o600) };
    if fd < 0 {
        return errno_text();
    }
    // SAFETY: closing the descriptor just opened.
    unsafe { libc::close(fd) };
    "ok".into()
}

/// Create `dir/NAME` exclusively and remove it again.
fn try_create(dir: &std::path::Path) -> String {
    let p = dir.join(format!("oxvirt-escape-{}", std::process::id()));
    let r = try_open(&p, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL);
    if r == "ok" {
        let _ = std::fs::remove_file(&p);
    }
    r
}

fn own_disk(t: &Targets) -> String {
    use std::io::{Read, Seek, Write};
    let r = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&t.own_disk)
        .and_then(|mut f| {
            let mut buf = [0u8; 512];
            f.read_exact(&mut buf)?;
            f.seek(std::io::SeekFrom::Start(0))?;
            f.write_all(&buf)
        });
    r.map_or_else(io_text, |_| "ok".into())
}

fn other_qmp(t: &Targets) -> String {
    use std::io::Read;
    let mut s = match UnixStream::connect(&t.other_qmp) {
        Ok(s) => s,
        Err(e) => return io_text(e),
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 256];
    match s.read(&mut buf) {
        Ok(n) if String::from_utf8_lossy(&buf[..n]).contains("QMP") => "ok".into(),
        // QEMU serves one QMP client, and the VM's supervisor is it: a second
        // connection waits in the backlog and gets no greeting.
        _ => "denied: no answer".into(),
    }
}

fn ptrace_other(t: &Targets) -> String {
    const PTRACE_SEIZE: libc::c_uint = 0x4206;
    // SAFETY: ptrace(PTRACE_SEIZE) with integer arguments; the tracee is released
    // when this probe exits.
    let rc = unsafe { libc::ptrace(PTRACE_SEIZE, t.other_pid as libc::pid_t, 0, 0) };
    if rc < 0 {
        errno_text()
    } else {
        "ok".into()
    }
}

fn signal_other(t: &Targets) -> String {
    // SAFETY: kill with signal 0 only checks permission.
    if unsafe { libc::kill(t.other_pid as libc::pid_t, 0) } < 0 {
        errno_text()
    } else {
        "ok".into()
    }
}

fn setuid_file(t: &Targets) -> String {
    use std::os::unix::fs::MetadataExt;
    let p = t
        .own_dir
        .join(format!("oxvirt-suid-{}", std::process::id()));
    let c = cpath(&p);
    // SAFETY: open/fchown/fchmod/close on a descriptor this function owns.
    let result = unsafe {
        let fd = libc::open(
            c.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
            0o755,
        );
        if fd < 0 {
            return errno_text();
        }
        let r = if libc::fchown(fd, 0, 0) < 0 || libc::fchmod(fd, 0o4755) < 0 {
            errno_text()
        } else {
            String::new()
        };
        libc::close(fd);
        r
    };
    let made = std::fs::metadata(&p)
        .map(|m| m.uid() == 0 && m.mode() & 0o4000 != 0)
        .unwrap_or(false);
    let _ = std::fs::remove_file(&p);
    match (made, result.is_empty()) {
        (true, _) => "ok".into(),
        (false, true) => "denied: the setuid bit did not stick".into(),
        (false, false) => result,
    }
}

fn cap_raise() -> String {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    let h = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    const CAP_SYS_ADMIN: u32 = 21;
    let data: [u32; 6] = [1 << CAP_SYS_ADMIN, 1 << CAP_SYS_ADMIN, 0, 0, 0, 0];
    // SAFETY: capset with a v3 header and two three-word data structs on this frame.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &h as *const Header, data.as_ptr()) };
    if rc < 0 {
        errno_text()
    } else {
        "ok".into()
    }
}

fn mount_tmpfs(t: &Targets) -> String {
    let target = cpath(&t.mnt);
    let fstype = CString::new("tmpfs").unwrap_or_default();
    // SAFETY: mount/umount2 with NUL-terminated strings; unmounted right away.
    unsafe {
        if libc::mount(
            fstype.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        ) < 0
        {
            return errno_text();
        }
        libc::umount2(target.as_ptr(), libc::MNT_DETACH);
    }
    "ok".into()
}

/// Last: it changes this process's namespaces.
fn userns_mount(t: &Targets) -> String {
    // SAFETY: unshare with flags only.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) } < 0 {
        return errno_text();
    }
    mount_tmpfs(t)
}

fn abstract_unix(t: &Targets) -> String {
    use std::os::linux::net::SocketAddrExt;
    let addr = match std::os::unix::net::SocketAddr::from_abstract_name(t.abstract_name.as_bytes())
    {
        Ok(a) => a,
        Err(e) => return io_text(e),
    };
    UnixStream::connect_addr(&addr).map_or_else(io_text, |_| "ok".into())
}

/// Run every cell, in [`CELLS`] order.
pub fn run_cells(t: &Targets) -> Vec<(&'static str, String)> {
    let rw = libc::O_RDWR;
    let other_xml = t.root.join(format!("etc/qemu/{}.xml", t.other_name));
    let block = match &t.block {
        Some(b) => try_open(b, libc::O_RDONLY),
        None => "denied: no block device on this host".into(),
    };
    let tcp = std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], t.tcp_port).into(),
        Duration::from_secs(2),
    )
    .map_or_else(io_text, |_| "ok".into());
    let mut out = vec![
        ("own_disk", own_disk(t)),
        ("other_disk", try_open(&t.other_disk, rw)),
        (
            "etc_shadow",
            try_open("/etc/shadow".as_ref(), libc::O_RDONLY),
        ),
        ("write_etc", try_create("/etc".as_ref())),
        ("write_root_home", try_create("/root".as_ref())),
        ("host_block", block),
        ("dev_mem", try_open("/dev/mem".as_ref(), libc::O_RDONLY)),
        ("other_run_dir", try_create(&t.other_run_dir)),
        ("other_qmp", other_qmp(t)),
        ("ptrace_other", ptrace_other(t)),
        ("signal_other", signal_other(t)),
        (
            "other_environ",
            try_open(
                format!("/proc/{}/environ", t.other_pid).as_ref(),
                libc::O_RDONLY,
            ),
        ),
        (
            "other_mem",
            try_open(format!("/proc/{}/mem", t.other_pid).as_ref(), rw),
        ),
        (
            "write_config",
            try_open(
                &t.root.join("etc/qemu.toml"),
                libc::O_WRONLY | libc::O_APPEND,
            ),
        ),
        (
            "write_other_xml",
            try_open(&other_xml, libc::O_WRONLY | libc::O_APPEND),
        ),
        ("setuid_file", setuid_file(t)),
        ("cap_raise", cap_raise()),
        ("mount", mount_tmpfs(t)),
    ];
    out.push((
        "daemon_socket",
        UnixStream::connect(&t.daemon_socket).map_or_else(io_text, |_| "ok".into()),
    ));
    out.push(("tcp_connect", tcp));
    out.push(("abstract_unix", abstract_unix(t)));
    out.push(("userns_mount", userns_mount(t)));
    out
}
