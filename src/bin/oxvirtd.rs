//! `oxvirtd`: the oxvirt daemon. Hosts the QEMU driver on one root and serves it over
//! libvirt's RPC protocol, so stock `virsh -c qemu+unix:///system?socket=...` and
//! python3-libvirt drive it unchanged (see docs/rpc.md).
//!
//! System instance (default, as root): sockets in `/run/oxvirt` (`oxvirt-sock` 0700,
//! `oxvirt-sock-ro` 0777), driver root `/var/lib/oxvirt`, limits from
//! `/etc/oxvirt/oxvirtd.toml`. Session instance (`--session`): sockets in
//! `$XDG_RUNTIME_DIR/oxvirt` (read-write only, 0700, own uid only), root
//! `$XDG_DATA_HOME/oxvirt` (`~/.local/share/oxvirt`), limits from
//! `$XDG_CONFIG_HOME/oxvirt/oxvirtd.toml`. `--config FILE` names another file. Runs in
//! the foreground, logs to stderr (`OXVIRT_LOG` filter, default `info`).

use clap::Parser;
use oxvirt_config::DaemonConfig;
use oxvirt_core::driver::Connection;
use oxvirt_driver_qemu::QemuDriver;
use oxvirt_driver_remote::server::{Instance, Limits, Opener, Server, SocketPolicy};
// Link the built-in security backends: the hosted QEMU driver finds them by model name.
use oxvirt_security_apparmor as _;
use oxvirt_security_dac as _;
use oxvirt_security_landlock as _;
use oxvirt_security_none as _;
use oxvirt_security_selinux as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "oxvirtd",
    about = "oxvirt daemon: libvirt's RPC protocol over the QEMU driver"
)]
struct Args {
    /// Run the per-user session instance (qemu:///session) instead of the system one.
    #[arg(long)]
    session: bool,
    /// The daemon's configuration (default: /etc/oxvirt/oxvirtd.toml for the system
    /// instance, $XDG_CONFIG_HOME/oxvirt/oxvirtd.toml for the session one; a missing
    /// default file means libvirtd's defaults, a missing FILE is an error).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for the sockets (system: /run/oxvirt; session: $XDG_RUNTIME_DIR/oxvirt).
    #[arg(long, value_name = "DIR")]
    socket_dir: Option<PathBuf>,
    /// The QEMU driver root to serve (system: /var/lib/oxvirt; session:
    /// $XDG_DATA_HOME/oxvirt).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Path of the read-only socket (default: SOCKET_DIR/oxvirt-sock-ro for the system
    /// instance; the session instance has none unless this is given).
    #[arg(long, value_name = "PATH")]
    read_only_socket: Option<PathBuf>,
    /// Do not create a read-only socket.
    #[arg(long)]
    no_read_only_socket: bool,
    /// Where driver plugins are loaded from (default: `plugin_dir` of ROOT/etc/qemu.toml,
    /// else $OXVIRT_PLUGIN_DIR, else /usr/lib/oxvirt/plugins). Their URIs (e.g.
    /// `test:///default`) are served to clients that open them.
    #[arg(long, value_name = "DIR")]
    plugin_dir: Option<PathBuf>,
    /// The longest the lifecycle-event watcher waits for the driver's notifications
    /// before looking again, in milliseconds (a driver without them is polled this often).
    #[arg(long, default_value_t = 200)]
    event_poll_ms: u64,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OXVIRT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("oxvirtd: error: {e}");
        std::process::exit(1);
    }
}

/// Where this instance lives.
struct Layout {
    instance: Instance,
    root: PathBuf,
    rw_socket: PathBuf,
    ro_socket: Option<PathBuf>,
}

fn run(args: Args) -> Result<(), String> {
    let layout = layout(&args)?;
    let config = daemon_config(&args, layout.instance)?;
    let limits = Limits::from(&config);
    tracing::info!(
        "limits: max_clients={} max_anonymous_clients={} workers={}..{} (+{} priority) max_requests={} max_client_requests={} incomplete_frame_timeout={}s",
        limits.max_clients,
        limits.max_anonymous_clients,
        limits.min_workers,
        limits.max_workers,
        limits.prio_workers,
        limits.max_requests,
        limits.max_client_requests,
        limits.frame_timeout.as_secs()
    );
    let conn = hosted_driver(&args, &layout.root)?;
    let other: Opener = Arc::new(|uri: &str| oxvirt_core::registry::open(uri));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let server = Server::with_limits(conn, layout.instance, Some(other), limits);
    server.prime_events();
    let poll = Duration::from_millis(args.event_poll_ms.max(10));
    rt.block_on(serve(server, &layout, poll))?;
    // Blocking calls in flight are not waited for.
    std::process::exit(0);
}

/// Instance, root and socket paths from the arguments and the environment.
fn layout(args: &Args) -> Result<Layout, String> {
    let instance = if args.session {
        Instance::Session
    } else {
        Instance::System
    };
    let socket_dir = match (&args.socket_dir, instance) {
        (Some(d), _) => d.clone(),
        (None, Instance::System) => PathBuf::from("/run/oxvirt"),
        (None, Instance::Session) => env_dir("XDG_RUNTIME_DIR", ".cache")
            .ok_or("neither XDG_RUNTIME_DIR nor HOME is set; pass --socket-dir")?
            .join("oxvirt"),
    };
    let root = match (&args.root, instance) {
        (Some(r), _) => r.clone(),
        (None, Instance::System) => PathBuf::from("/var/lib/oxvirt"),
        (None, Instance::Session) => env_dir("XDG_DATA_HOME", ".local/share")
            .ok_or("neither XDG_DATA_HOME nor HOME is set; pass --root")?
            .join("oxvirt"),
    };
    let root = std::path::absolute(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let uid = nix::unistd::geteuid().as_raw();
    if instance == Instance::System && uid != 0 && args.socket_dir.is_none() {
        return Err("the system instance runs as root; use --session (or --socket-dir and --root for a private instance)".into());
    }
    let ro_socket = match (&args.read_only_socket, instance) {
        _ if args.no_read_only_socket => None,
        (Some(p), _) => Some(p.clone()),
        (None, Instance::System) => Some(socket_dir.join("oxvirt-sock-ro")),
        (None, Instance::Session) => None,
    };
    std::fs::create_dir_all(&socket_dir)
        .map_err(|e| format!("cannot create {}: {e}", socket_dir.display()))?;
    Ok(Layout {
        instance,
        root,
        rw_socket: socket_dir.join("oxvirt-sock"),
        ro_socket,
    })
}

fn env_dir(var: &str, fallback_under_home: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback_under_home)))
}

/// oxvirtd.toml: `--config FILE` (must exist), else the instance's file (may be absent).
fn daemon_config(args: &Args, instance: Instance) -> Result<DaemonConfig, String> {
    let loaded = match &args.config {
        Some(file) => DaemonConfig::load(file).map(|c| (c, file.clone())),
        None => {
            let inst = match instance {
                Instance::System => oxvirt_config::Instance::System,
                Instance::Session => oxvirt_config::Instance::Session,
            };
            oxvirt_config::file_path(&inst, oxvirt_config::DAEMON_FILE)
                .and_then(|p| DaemonConfig::load_or_default(&p).map(|c| (c, p)))
        }
    };
    let (config, path) = loaded.map_err(|e| e.to_string())?;
    tracing::info!("daemon configuration from {}", path.display());
    Ok(config)
}

/// The QEMU driver on `root`, with the driver plugins of its plugin directory loaded.
fn hosted_driver(args: &Args, root: &Path) -> Result<Arc<dyn Connection>, String> {
    let driver = QemuDriver::open_embed(root).map_err(|e| e.to_string())?;
    let plugin_dir = args.plugin_dir.clone().or_else(|| {
        oxvirt_config::QemuConfig::load_or_default(&root.join("etc/qemu.toml"))
            .ok()
            .and_then(|c| c.plugin_dir)
            .or_else(|| Some(oxvirt_plugin_abi::loader::default_plugin_dir()))
    });
    if let Some(dir) = plugin_dir.filter(|d| d.is_dir()) {
        for e in oxvirt_plugin_abi::loader::install_driver_plugins(&dir) {
            tracing::warn!("{e}");
        }
        tracing::info!("driver plugins from {}", dir.display());
    }
    Ok(Arc::new(driver))
}

/// Bind the sockets, serve until SIGTERM or ^C, then remove the sockets.
async fn serve(server: Arc<Server>, layout: &Layout, poll: Duration) -> Result<(), String> {
    let uid = nix::unistd::geteuid().as_raw();
    // Read-write: the daemon's own uid (root for the system instance); SO_PEERCRED on
    // every connection.
    let rw = bind(&layout.rw_socket, 0o700)?;
    tracing::info!(
        "oxvirtd ({}) serving {} on {}",
        layout.instance.uri(),
        layout.root.display(),
        layout.rw_socket.display()
    );
    let rw_policy = SocketPolicy {
        read_only: false,
        allowed_uids: vec![uid],
    };
    tokio::spawn(server.clone().serve(rw, rw_policy));
    if let Some(ro_path) = &layout.ro_socket {
        let ro = bind(ro_path, 0o777)?;
        tracing::info!("read-only socket on {}", ro_path.display());
        let allowed_uids = match layout.instance {
            Instance::Session => vec![uid],
            Instance::System => vec![],
        };
        let ro_policy = SocketPolicy {
            read_only: true,
            allowed_uids,
        };
        tokio::spawn(server.clone().serve(ro, ro_policy));
    }
    server.spawn_event_watcher(poll);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("oxvirtd stopping (running domains keep running under their supervisors)");
    let _ = std::fs::remove_file(&layout.rw_socket);
    if let Some(p) = &layout.ro_socket {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}

/// Bind a unix socket at `path` with `mode`, replacing a stale socket file but refusing
/// to steal one another daemon still listens on.
fn bind(path: &Path, mode: u32) -> Result<tokio::net::UnixListener, String> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!(
                "{} is in use: another oxvirtd is running",
                path.display()
            ));
        }
        let _ = std::fs::remove_file(path);
    }
    let l = tokio::net::UnixListener::bind(path)
        .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot chmod {}: {e}", path.display()))?;
    Ok(l)
}
