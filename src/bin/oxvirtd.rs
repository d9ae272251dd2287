//! `oxvirtd`: the oxvirt daemon. Hosts the QEMU driver on one root and serves it over
//! libvirt's RPC protocol, so stock `virsh -c qemu+unix:///system?socket=...` and
//! python3-libvirt drive it unchanged (see docs/rpc.md).
//!
//! System instance (default, as root): sockets in `/run/oxvirt` (`oxvirt-sock` 0700,
//! `oxvirt-sock-ro` 0777), driver root `/var/lib/oxvirt`. Session instance (`--session`):
//! sockets in `$XDG_RUNTIME_DIR/oxvirt` (read-write only, 0700, own uid only), root
//! `$XDG_DATA_HOME/oxvirt` (`~/.local/share/oxvirt`). Runs in the foreground, logs to
//! stderr (`OXVIRT_LOG` filter, default `info`).

use clap::Parser;
// Link the built-in security backends: the hosted QEMU driver finds them by model name.
use oxvirt_core::driver::Connection;
use oxvirt_driver_qemu::QemuDriver;
use oxvirt_driver_remote::server::{Instance, Server, SocketPolicy};
use oxvirt_security_dac as _;
use oxvirt_security_none as _;
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
    /// How often the lifecycle-event watcher polls the driver, in milliseconds.
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

fn env_dir(var: &str, fallback_under_home: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback_under_home)))
}

fn run(args: Args) -> std::result::Result<(), String> {
    let instance = if args.session {
        Instance::Session
    } else {
        Instance::System
    };
    let uid = nix::unistd::geteuid().as_raw();
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
    if instance == Instance::System && uid != 0 && args.socket_dir.is_none() {
        return Err("the system instance runs as root; use --session (or --socket-dir and --root for a private instance)".into());
    }
    let driver = QemuDriver::open_embed(&root).map_err(|e| e.to_string())?;
    let conn: Arc<dyn Connection> = Arc::new(driver);
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
    let other: oxvirt_driver_remote::server::Opener =
        Arc::new(|uri: &str| oxvirt_core::registry::open(uri));

    std::fs::create_dir_all(&socket_dir)
        .map_err(|e| format!("cannot create {}: {e}", socket_dir.display()))?;
    let rw_path = socket_dir.join("oxvirt-sock");
    let ro_path = if args.no_read_only_socket {
        None
    } else {
        match (&args.read_only_socket, instance) {
            (Some(p), _) => Some(p.clone()),
            (None, Instance::System) => Some(socket_dir.join("oxvirt-sock-ro")),
            (None, Instance::Session) => None,
        }
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let server = Server::with_other_drivers(conn, instance, Some(other));
    server.prime_events();
    rt.block_on(async move {
        // Read-write: the daemon's own uid (and root); SO_PEERCRED on every connection.
        let rw_uids = if uid == 0 { vec![0] } else { vec![uid] };
        let rw = bind(&rw_path, 0o700)?;
        tracing::info!(
            "oxvirtd ({}) serving {} on {}",
            instance.uri(),
            root.display(),
            rw_path.display()
        );
        tokio::spawn(server.clone().serve(
            rw,
            SocketPolicy {
                read_only: false,
                allowed_uids: rw_uids,
            },
        ));
        if let Some(ro_path) = &ro_path {
            let ro = bind(ro_path, 0o777)?;
            tracing::info!("read-only socket on {}", ro_path.display());
            tokio::spawn(server.clone().serve(
                ro,
                SocketPolicy {
                    read_only: true,
                    allowed_uids: if instance == Instance::Session {
                        vec![uid]
                    } else {
                        vec![]
                    },
                },
            ));
        }
        server.spawn_event_watcher(Duration::from_millis(args.event_poll_ms.max(10)));
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| e.to_string())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("oxvirtd stopping (running domains keep running under their supervisors)");
        let _ = std::fs::remove_file(&rw_path);
        if let Some(p) = &ro_path {
            let _ = std::fs::remove_file(p);
        }
        Ok::<(), String>(())
    })?;
    // Blocking calls in flight are not waited for.
    std::process::exit(0);
}

/// Bind a unix socket at `path` with `mode`, replacing a stale socket file but refusing
/// to steal one another daemon still listens on.
fn bind(path: &Path, mode: u32) -> std::result::Result<tokio::net::UnixListener, String> {
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
