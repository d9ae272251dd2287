//! Argument parsing and the verbs. Messages and exit codes follow virsh: results on
//! stdout followed by a blank line, `error: ...` lines on stderr and exit status 1.

use crate::output;
use clap::{Parser, Subcommand};
use oxvirt_core::driver::{Connection, DomainKey, ListFilter, XmlFlags};
use oxvirt_core::Error;
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "oxvirt", version, about = "virsh-compatible client for oxvirt")]
pub struct Cli {
    /// Hypervisor connection URI, e.g. qemu:///embed?root=/var/tmp/vms
    #[arg(short = 'c', long = "connect", global = true)]
    pub connect: Option<String>,
    #[command(subcommand)]
    pub command: Verb,
}

#[derive(Subcommand, Debug)]
pub enum Verb {
    /// List domains
    List {
        /// list inactive and active domains
        #[arg(long)]
        all: bool,
        /// list inactive domains
        #[arg(long)]
        inactive: bool,
        /// list only domain names
        #[arg(long)]
        name: bool,
        /// list only domain uuids
        #[arg(long)]
        uuid: bool,
    },
    /// Define (but don't start) a domain from an XML file
    Define { file: String },
    /// Undefine a domain
    Undefine { domain: String },
    /// Create (start) a transient domain from an XML file
    Create { file: String },
    /// Start a (previously defined) inactive domain
    Start { domain: String },
    /// Gracefully shut down a domain (ACPI power button) and wait for it
    Shutdown { domain: String },
    /// Destroy (stop) a domain
    Destroy { domain: String },
    /// Suspend a domain
    Suspend { domain: String },
    /// Resume a domain
    Resume { domain: String },
    /// Domain information
    Dominfo { domain: String },
    /// Domain state
    Domstate {
        domain: String,
        /// also print reason for the state
        #[arg(long)]
        reason: bool,
    },
    /// Domain information in XML
    Dumpxml {
        domain: String,
        /// show inactive defined XML
        #[arg(long)]
        inactive: bool,
        /// include security sensitive information in XML dump
        #[arg(long = "security-info")]
        security_info: bool,
    },
    /// Convert a domain name or UUID to domain id
    Domid { domain: String },
    /// Convert a domain id or UUID to domain name
    Domname { domain: String },
    /// Convert a domain name or id to domain UUID
    Domuuid { domain: String },
    /// Print the hypervisor canonical URI
    Uri,
    /// Show version
    Version,
}

/// The default URI when `-c` is not given: `$VIRSH_DEFAULT_CONNECT_URI`,
/// `$LIBVIRT_DEFAULT_URI`, else the system or session instance.
pub fn default_uri() -> String {
    for var in ["VIRSH_DEFAULT_CONNECT_URI", "LIBVIRT_DEFAULT_URI"] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                return v;
            }
        }
    }
    if nix::unistd::geteuid().is_root() {
        "qemu:///system".into()
    } else {
        "qemu:///session".into()
    }
}

/// A failure: the lines virsh would print after `error: `.
pub struct Failure(pub Vec<String>);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure(vec![e.message])
    }
}

fn failed(context: String, e: Error) -> Failure {
    Failure(vec![context, e.message])
}

fn read_file(path: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure(vec![format!("Failed to read file '{path}' to buffer: {e}")]))
}

/// Resolve a DOMAIN argument as virsh does; a miss is "failed to get domain".
fn lookup(conn: &dyn Connection, arg: &str) -> Result<oxvirt_core::driver::DomainSummary, Failure> {
    let key = DomainKey::from_arg(arg);
    match conn.lookup(&key) {
        Ok(s) => Ok(s),
        Err(_) if matches!(key, DomainKey::Id(_) | DomainKey::Uuid(_)) => conn
            .lookup(&DomainKey::Name(arg.to_string()))
            .map_err(|_| Failure(vec![format!("failed to get domain '{arg}'")])),
        Err(_) => Err(Failure(vec![format!("failed to get domain '{arg}'")])),
    }
}

/// Where the CLI loads plugins from for `uri`: for `qemu:///embed?root=DIR`, `plugin_dir`
/// of `DIR/etc/qemu.toml` (none when unset or when the file does not load: opening the
/// root reports that); for any other URI, `$OXVIRT_PLUGIN_DIR`, else
/// `/usr/lib/oxvirt/plugins`.
pub fn plugin_dir_for(uri: &str) -> Option<PathBuf> {
    let parsed = oxvirt_core::uri::ConnectUri::parse(uri).ok()?;
    if parsed.driver == "qemu" && parsed.path == "embed" {
        let root = PathBuf::from(parsed.param("root")?);
        let cfg = oxvirt_config::QemuConfig::load_or_default(&root.join("etc/qemu.toml")).ok()?;
        return cfg.plugin_dir;
    }
    Some(oxvirt_plugin_abi::loader::default_plugin_dir())
}

/// Run one verb; returns what to print on stdout.
pub fn run(cli: &Cli) -> Result<String, Failure> {
    let uri = cli.connect.clone().unwrap_or_else(default_uri);
    if let Some(dir) = plugin_dir_for(&uri) {
        // Driver plugins join the registry; a file that fails to load is a warning
        // (and an error only when the URI or backend it might have served is used).
        for e in oxvirt_plugin_abi::loader::install_driver_plugins(&dir) {
            eprintln!("warning: {e}");
        }
    }
    let conn = oxvirt_core::registry::open(&uri).map_err(|e| {
        Failure(vec![
            "failed to connect to the hypervisor".into(),
            e.message,
        ])
    })?;
    let conn = conn.as_ref();
    let name_key = |s: &oxvirt_core::driver::DomainSummary| DomainKey::Name(s.name.clone());
    Ok(match &cli.command {
        Verb::List {
            all,
            inactive,
            name,
            uuid,
        } => {
            let filter = ListFilter {
                active: !inactive,
                inactive: *all || *inactive,
            };
            let rows = conn.list(filter)?;
            if *name || *uuid {
                let mut out = String::new();
                for r in &rows {
                    if *uuid && *name {
                        out.push_str(&format!("{}  {}\n", r.uuid, r.name));
                    } else if *uuid {
                        out.push_str(&format!("{}\n", r.uuid));
                    } else {
                        out.push_str(&format!("{}\n", r.name));
                    }
                }
                out.push('\n');
                out
            } else {
                output::domain_table(&rows)
            }
        }
        Verb::Define { file } => {
            let xml = read_file(file)?;
            let s = conn
                .define_xml(&xml)
                .map_err(|e| failed(format!("Failed to define domain from {file}"), e))?;
            format!("Domain '{}' defined from {file}\n\n", s.name)
        }
        Verb::Create { file } => {
            let xml = read_file(file)?;
            let s = conn
                .create_xml(&xml)
                .map_err(|e| failed(format!("Failed to create domain from {file}"), e))?;
            format!("Domain '{}' created from {file}\n\n", s.name)
        }
        Verb::Undefine { domain } => {
            let s = lookup(conn, domain)?;
            conn.undefine(&name_key(&s))
                .map_err(|e| failed(format!("Failed to undefine domain '{}'", s.name), e))?;
            format!("Domain '{}' has been undefined\n\n", s.name)
        }
        Verb::Start { domain } => {
            let s = lookup(conn, domain)?;
            if s.state.is_active() {
                return Err(Failure(vec!["Domain is already active".into()]));
            }
            conn.start(&name_key(&s))
                .map_err(|e| failed(format!("Failed to start domain '{}'", s.name), e))?;
            format!("Domain '{}' started\n\n", s.name)
        }
        Verb::Shutdown { domain } => {
            let s = lookup(conn, domain)?;
            conn.shutdown(&name_key(&s))
                .map_err(|e| failed(format!("Failed to shutdown domain '{}'", s.name), e))?;
            format!("Domain '{}' is being shutdown\n\n", s.name)
        }
        Verb::Destroy { domain } => {
            let s = lookup(conn, domain)?;
            conn.destroy(&name_key(&s))
                .map_err(|e| failed(format!("Failed to destroy domain '{}'", s.name), e))?;
            format!("Domain '{}' destroyed\n\n", s.name)
        }
        Verb::Suspend { domain } => {
            let s = lookup(conn, domain)?;
            conn.suspend(&name_key(&s))
                .map_err(|e| failed(format!("Failed to suspend domain '{}'", s.name), e))?;
            format!("Domain '{}' suspended\n\n", s.name)
        }
        Verb::Resume { domain } => {
            let s = lookup(conn, domain)?;
            conn.resume(&name_key(&s))
                .map_err(|e| failed(format!("Failed to resume domain '{}'", s.name), e))?;
            format!("Domain '{}' resumed\n\n", s.name)
        }
        Verb::Dominfo { domain } => {
            let s = lookup(conn, domain)?;
            output::dominfo(&conn.info(&name_key(&s))?)
        }
        Verb::Domstate { domain, reason } => {
            let s = lookup(conn, domain)?;
            if *reason {
                format!(
                    "{} ({})\n\n",
                    s.state.as_virsh_str(),
                    s.reason.as_virsh_str()
                )
            } else {
                format!("{}\n\n", s.state.as_virsh_str())
            }
        }
        Verb::Dumpxml {
            domain,
            inactive,
            security_info,
        } => {
            let s = lookup(conn, domain)?;
            let xml = conn.xml(
                &name_key(&s),
                XmlFlags {
                    inactive: *inactive,
                    secure: *security_info,
                },
            )?;
            format!("{}\n", xml.trim_end_matches('\n').to_string() + "\n")
        }
        Verb::Domid { domain } => {
            let s = lookup(conn, domain)?;
            match s.id {
                Some(id) => format!("{id}\n\n"),
                None => "-\n\n".into(),
            }
        }
        Verb::Domname { domain } => format!("{}\n\n", lookup(conn, domain)?.name),
        Verb::Domuuid { domain } => format!("{}\n\n", lookup(conn, domain)?.uuid),
        Verb::Uri => format!("{}\n\n", conn.uri()),
        Verb::Version => {
            let v = conn.hypervisor_version()?;
            let ours = env!("CARGO_PKG_VERSION");
            format!(
                "Compiled against library: oxvirt {ours}\nUsing library: oxvirt {ours}\n\
                 Using API: {t} {ours}\nRunning hypervisor: {t} {}.{}.{}\n\n",
                v / 1_000_000,
                (v / 1000) % 1000,
                v % 1000,
                t = conn.hypervisor_type()
            )
        }
    })
}

/// Print the result or the errors; the process exit status.
pub fn main_with(cli: Cli) -> i32 {
    match run(&cli) {
        Ok(out) => {
            let mut stdout = std::io::stdout();
            let _ = stdout.write_all(out.as_bytes());
            let _ = stdout.flush();
            0
        }
        Err(Failure(lines)) => {
            for l in lines {
                eprintln!("error: {l}");
            }
            1
        }
    }
}
