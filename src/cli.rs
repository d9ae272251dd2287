//! Argument parsing and the verbs. Messages and exit codes follow virsh: results on
//! stdout followed by a blank line, `error: ...` lines on stderr and exit status 1.

use crate::output;
use clap::{Parser, Subcommand};
use oxvirt_core::driver::{Connection, DomainKey, DomainSummary, ListFilter, XmlFlags};
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
    /// Capabilities of the host and the hypervisor
    Capabilities,
    /// Domain capabilities of an emulator, arch, machine and virt type
    Domcapabilities {
        /// virtualization type (/domain/@type)
        #[arg(long)]
        virttype: Option<String>,
        /// path to emulator binary (/domain/devices/emulator)
        #[arg(long)]
        emulatorbin: Option<String>,
        /// domain architecture (/domain/os/type/@arch)
        #[arg(long)]
        arch: Option<String>,
        /// machine type (/domain/os/type/@machine)
        #[arg(long)]
        machine: Option<String>,
    },
    /// Convert domain XML to a native guest configuration
    #[command(name = "domxml-to-native")]
    DomxmlToNative {
        /// target config data type format (qemu-argv)
        format: String,
        /// xml data file to export from
        xml: String,
    },
    /// Convert a native guest configuration to domain XML
    #[command(name = "domxml-from-native")]
    DomxmlFromNative {
        /// source config data format (qemu-argv)
        format: String,
        /// config data file to import from
        config: String,
    },
    /// What confines a domain's QEMU: identity, capabilities, cgroup ACL, labels,
    /// Landlock, seccomp and every host path with its access (oxvirt only)
    Confinement {
        domain: String,
        /// the report as XML
        #[arg(long, conflicts_with = "json")]
        xml: bool,
        /// the report as JSON
        #[arg(long)]
        json: bool,
    },
    /// QEMU Monitor Command
    #[command(name = "qemu-monitor-command")]
    QemuMonitorCommand {
        domain: String,
        /// command is in human monitor protocol
        #[arg(long)]
        hmp: bool,
        /// pretty-print any qemu monitor protocol output
        #[arg(long)]
        pretty: bool,
        /// command
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true, trailing_var_arg = true)]
        cmd: Vec<String>,
    },
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
fn lookup(conn: &dyn Connection, arg: &str) -> Result<DomainSummary, Failure> {
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
    let conn = connect(&uri)?;
    run_verb(conn.as_ref(), &cli.command)
}

/// Load the plugins for `uri`, then open it.
fn connect(uri: &str) -> Result<Box<dyn Connection>, Failure> {
    if let Some(dir) = plugin_dir_for(uri) {
        // Driver plugins join the registry; a file that fails to load is a warning
        // (and an error only when the URI or backend it might have served is used).
        for e in oxvirt_plugin_abi::loader::install_driver_plugins(&dir) {
            eprintln!("warning: {e}");
        }
    }
    oxvirt_core::registry::open(uri).map_err(|e| {
        Failure(vec![
            "failed to connect to the hypervisor".into(),
            e.message,
        ])
    })
}

/// One verb on an open connection: each arm reads its arguments and calls the
/// connection, or a helper below when the verb has steps of its own.
fn run_verb(conn: &dyn Connection, verb: &Verb) -> Result<String, Failure> {
    match verb {
        Verb::List {
            all,
            inactive,
            name,
            uuid,
        } => list(conn, *all, *inactive, *name, *uuid),
        Verb::Define { file } => from_file(conn, file, "define", "defined", |c, x| c.define_xml(x)),
        Verb::Create { file } => from_file(conn, file, "create", "created", |c, x| c.create_xml(x)),
        Verb::Undefine { domain } => {
            change_state(conn, domain, "undefine", "has been undefined", |c, k| {
                c.undefine(k)
            })
        }
        Verb::Start { domain } => start(conn, domain),
        Verb::Shutdown { domain } => {
            change_state(conn, domain, "shutdown", "is being shutdown", |c, k| {
                c.shutdown(k)
            })
        }
        Verb::Destroy { domain } => {
            change_state(conn, domain, "destroy", "destroyed", |c, k| c.destroy(k))
        }
        Verb::Suspend { domain } => {
            change_state(conn, domain, "suspend", "suspended", |c, k| c.suspend(k))
        }
        Verb::Resume { domain } => {
            change_state(conn, domain, "resume", "resumed", |c, k| c.resume(k))
        }
        Verb::Dominfo { domain } => {
            let s = lookup(conn, domain)?;
            Ok(output::dominfo(&conn.info(&name_key(&s))?))
        }
        Verb::Domstate { domain, reason } => domstate(conn, domain, *reason),
        Verb::Dumpxml {
            domain,
            inactive,
            security_info,
        } => dumpxml(conn, domain, *inactive, *security_info),
        Verb::Domid { domain } => Ok(match lookup(conn, domain)?.id {
            Some(id) => format!("{id}\n\n"),
            None => "-\n\n".into(),
        }),
        Verb::Domname { domain } => Ok(format!("{}\n\n", lookup(conn, domain)?.name)),
        Verb::Domuuid { domain } => Ok(format!("{}\n\n", lookup(conn, domain)?.uuid)),
        Verb::Uri => Ok(format!("{}\n\n", conn.uri())),
        Verb::Version => {
            let v = conn.hypervisor_version()?;
            Ok(output::version(conn.hypervisor_type(), v))
        }
        Verb::Capabilities => {
            let xml = conn
                .capabilities()
                .map_err(|e| failed("failed to get capabilities".into(), e))?;
            Ok(output::capabilities_document(&xml))
        }
        Verb::Domcapabilities {
            virttype,
            emulatorbin,
            arch,
            machine,
        } => domcapabilities(conn, virttype, emulatorbin, arch, machine),
        Verb::DomxmlToNative { format, xml } => {
            let line = conn.xml_to_native(format, &read_file(xml)?)?;
            Ok(format!("{line}\n"))
        }
        Verb::DomxmlFromNative { format, config } => {
            let xml = conn.xml_from_native(format, &read_file(config)?)?;
            Ok(output::xml_document(&xml))
        }
        Verb::QemuMonitorCommand {
            domain,
            hmp,
            pretty,
            cmd,
        } => monitor_command(conn, domain, *hmp, *pretty, cmd),
        Verb::Confinement { domain, xml, json } => confinement(conn, domain, *xml, *json),
    }
}

fn name_key(s: &DomainSummary) -> DomainKey {
    DomainKey::Name(s.name.clone())
}

/// `list [--all|--inactive] [--name] [--uuid]`.
fn list(
    conn: &dyn Connection,
    all: bool,
    inactive: bool,
    name: bool,
    uuid: bool,
) -> Result<String, Failure> {
    let filter = ListFilter {
        active: !inactive,
        inactive: all || inactive,
    };
    let rows = conn.list(filter)?;
    Ok(if name || uuid {
        output::name_uuid_list(&rows, name, uuid)
    } else {
        output::domain_table(&rows)
    })
}

/// A verb that acts on one domain: `op` on it by name; "Failed to VERB domain 'NAME'"
/// when it fails, "Domain 'NAME' DONE" when it worked.
fn change_state(
    conn: &dyn Connection,
    domain: &str,
    verb: &str,
    done: &str,
    op: impl FnOnce(&dyn Connection, &DomainKey) -> oxvirt_core::Result<()>,
) -> Result<String, Failure> {
    let s = lookup(conn, domain)?;
    apply(conn, &s, verb, done, op)
}

/// [`change_state`] on a domain already looked up.
fn apply(
    conn: &dyn Connection,
    s: &DomainSummary,
    verb: &str,
    done: &str,
    op: impl FnOnce(&dyn Connection, &DomainKey) -> oxvirt_core::Result<()>,
) -> Result<String, Failure> {
    op(conn, &name_key(s))
        .map_err(|e| failed(format!("Failed to {verb} domain '{}'", s.name), e))?;
    Ok(format!("Domain '{}' {done}\n\n", s.name))
}

/// `start`: refused for an active domain, as virsh does before asking the driver.
fn start(conn: &dyn Connection, domain: &str) -> Result<String, Failure> {
    let s = lookup(conn, domain)?;
    if s.state.is_active() {
        return Err(Failure(vec!["Domain is already active".into()]));
    }
    apply(conn, &s, "start", "started", |c, k| c.start(k).map(drop))
}

/// `define FILE` / `create FILE`: `op` on the file's XML; "Failed to VERB domain from
/// FILE" when it fails, "Domain 'NAME' DONE from FILE" when it worked.
fn from_file(
    conn: &dyn Connection,
    file: &str,
    verb: &str,
    done: &str,
    op: impl FnOnce(&dyn Connection, &str) -> oxvirt_core::Result<DomainSummary>,
) -> Result<String, Failure> {
    let s = op(conn, &read_file(file)?)
        .map_err(|e| failed(format!("Failed to {verb} domain from {file}"), e))?;
    Ok(format!("Domain '{}' {done} from {file}\n\n", s.name))
}

/// `dumpxml [--inactive] [--security-info]`.
fn dumpxml(
    conn: &dyn Connection,
    domain: &str,
    inactive: bool,
    secure: bool,
) -> Result<String, Failure> {
    let s = lookup(conn, domain)?;
    let xml = conn.xml(&name_key(&s), XmlFlags { inactive, secure })?;
    Ok(output::xml_document(&xml))
}

/// `domcapabilities [--virttype] [--emulatorbin] [--arch] [--machine]`.
fn domcapabilities(
    conn: &dyn Connection,
    virttype: &Option<String>,
    emulatorbin: &Option<String>,
    arch: &Option<String>,
    machine: &Option<String>,
) -> Result<String, Failure> {
    let xml = conn
        .domain_capabilities(
            emulatorbin.as_deref(),
            arch.as_deref(),
            machine.as_deref(),
            virttype.as_deref(),
        )
        .map_err(|e| failed("failed to get emulator capabilities".into(), e))?;
    Ok(output::capabilities_document(&xml))
}

/// `domstate [--reason]`.
fn domstate(conn: &dyn Connection, domain: &str, reason: bool) -> Result<String, Failure> {
    let s = lookup(conn, domain)?;
    Ok(if reason {
        format!(
            "{} ({})\n\n",
            s.state.as_virsh_str(),
            s.reason.as_virsh_str()
        )
    } else {
        format!("{}\n\n", s.state.as_virsh_str())
    })
}

/// `qemu-monitor-command [--hmp|--pretty] DOMAIN CMD...`.
fn monitor_command(
    conn: &dyn Connection,
    domain: &str,
    hmp: bool,
    pretty: bool,
    cmd: &[String],
) -> Result<String, Failure> {
    if hmp && pretty {
        return Err(Failure(vec![
            "Options --hmp and --pretty are mutually exclusive".into(),
        ]));
    }
    let s = lookup(conn, domain)?;
    let reply = conn.monitor_command(&name_key(&s), &cmd.join(" "), hmp)?;
    if !pretty {
        return Ok(format!("{reply}\n\n"));
    }
    let v: serde_json::Value = serde_json::from_str(&reply)
        .map_err(|e| Failure(vec![format!("malformed reply from the monitor: {e}")]))?;
    let p = serde_json::to_string_pretty(&v).unwrap_or(reply);
    // As virsh 9: pretty output has no blank line after it, the others do.
    Ok(format!("{p}\n"))
}

/// `confinement DOMAIN [--xml|--json]`.
fn confinement(
    conn: &dyn Connection,
    domain: &str,
    xml: bool,
    json: bool,
) -> Result<String, Failure> {
    let s = lookup(conn, domain)?;
    let r = conn.confinement_report(&name_key(&s)).map_err(|e| {
        failed(
            format!("Failed to report the confinement of domain '{}'", s.name),
            e,
        )
    })?;
    Ok(if json {
        let text = serde_json::to_string_pretty(&r)
            .map_err(|e| Failure(vec![format!("cannot write the report as JSON: {e}")]))?;
        format!("{text}\n\n")
    } else if xml {
        crate::confinement::xml_report(&r)
    } else {
        crate::confinement::table_report(&r)
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
