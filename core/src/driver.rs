//! The hypervisor driver interface: libvirt's public API shape, data in and out.
//!
//! A front end (the CLI, the RPC server, an embedding program) resolves a URI to a
//! [`Connection`] through [`crate::registry`] and calls these methods. Domains are named by
//! [`DomainKey`]; the driver resolves it.

use crate::error::Result;
use uuid::Uuid;

/// How a caller names a domain: virsh accepts a name, an id or a uuid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainKey {
    Name(String),
    Uuid(Uuid),
    Id(u32),
}

impl DomainKey {
    /// Interpret a virsh-style DOMAIN argument: an id if it is a number, a uuid if it
    /// parses as one, else a name (libvirt's `virshLookupDomainBy` order).
    pub fn from_arg(arg: &str) -> DomainKey {
        if let Ok(id) = arg.parse::<u32>() {
            return DomainKey::Id(id);
        }
        if let Ok(u) = Uuid::parse_str(arg) {
            return DomainKey::Uuid(u);
        }
        DomainKey::Name(arg.to_string())
    }
}

impl std::fmt::Display for DomainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DomainKey::Name(n) => write!(f, "{n}"),
            DomainKey::Uuid(u) => write!(f, "{u}"),
            DomainKey::Id(i) => write!(f, "{i}"),
        }
    }
}

/// libvirt's `virDomainState`, numbered as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum DomainState {
    NoState = 0,
    Running = 1,
    Blocked = 2,
    Paused = 3,
    Shutdown = 4,
    Shutoff = 5,
    Crashed = 6,
    PmSuspended = 7,
}

impl DomainState {
    /// The words virsh prints.
    pub fn as_virsh_str(self) -> &'static str {
        match self {
            DomainState::NoState => "no state",
            DomainState::Running => "running",
            DomainState::Blocked => "idle",
            DomainState::Paused => "paused",
            DomainState::Shutdown => "in shutdown",
            DomainState::Shutoff => "shut off",
            DomainState::Crashed => "crashed",
            DomainState::PmSuspended => "pmsuspended",
        }
    }
    pub fn is_active(self) -> bool {
        !matches!(self, DomainState::Shutoff | DomainState::NoState)
    }
    /// The state libvirt numbers `n` (on the wire, in status files); unknown numbers are
    /// `NoState`.
    pub fn from_number(n: i32) -> DomainState {
        match n {
            1 => DomainState::Running,
            2 => DomainState::Blocked,
            3 => DomainState::Paused,
            4 => DomainState::Shutdown,
            5 => DomainState::Shutoff,
            6 => DomainState::Crashed,
            7 => DomainState::PmSuspended,
            _ => DomainState::NoState,
        }
    }
}

/// Order domains as `virsh list` shows them: running ones by id, then inactive ones by
/// name.
pub fn sort_for_listing(domains: &mut [DomainSummary]) {
    domains.sort_by(|a, b| match (a.id, b.id) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.name.cmp(&b.name),
    });
}

/// Why a domain is in its state; numbered per state as libvirt numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateReason {
    Unknown,
    // running
    Booted,
    Unpaused,
    // paused
    User,
    StartingUp,
    // shutdown (in progress)
    ShutdownUser,
    // shut off
    Shutdown,
    Destroyed,
    Crashed,
    Failed,
    // crashed
    Panicked,
    /// paused because the guest shut down and QEMU waits (`-no-shutdown`).
    PausedShuttingDown,
}

impl StateReason {
    /// The word virsh prints in `domstate --reason`.
    pub fn as_virsh_str(self) -> &'static str {
        match self {
            StateReason::Unknown => "unknown",
            StateReason::Booted => "booted",
            StateReason::Unpaused => "unpaused",
            StateReason::User => "user",
            StateReason::StartingUp => "starting up",
            StateReason::ShutdownUser => "user",
            StateReason::Shutdown => "shutdown",
            StateReason::Destroyed => "destroyed",
            StateReason::Crashed => "crashed",
            StateReason::Failed => "failed",
            StateReason::Panicked => "panicked",
            StateReason::PausedShuttingDown => "shutting down",
        }
    }
    /// libvirt's number for this reason within `state`.
    pub fn number(self) -> i32 {
        match self {
            StateReason::Unknown => 0,
            StateReason::Booted => 1,
            StateReason::Unpaused => 3,
            StateReason::User => 2,
            StateReason::StartingUp => 11,
            StateReason::ShutdownUser => 1,
            StateReason::Shutdown => 1,
            StateReason::Destroyed => 2,
            StateReason::Crashed => 3,
            StateReason::Failed => 6,
            StateReason::Panicked => 1,
            StateReason::PausedShuttingDown => 8,
        }
    }
    /// Parse the word written by [`StateReason::as_status_str`].
    pub fn from_status_str(s: &str) -> StateReason {
        match s {
            "booted" => StateReason::Booted,
            "unpaused" => StateReason::Unpaused,
            "user" => StateReason::User,
            "starting-up" => StateReason::StartingUp,
            "shutdown-user" => StateReason::ShutdownUser,
            "shutdown" => StateReason::Shutdown,
            "destroyed" => StateReason::Destroyed,
            "crashed" => StateReason::Crashed,
            "failed" => StateReason::Failed,
            "panicked" => StateReason::Panicked,
            "shutting-down" => StateReason::PausedShuttingDown,
            _ => StateReason::Unknown,
        }
    }
    /// A one-word spelling for status files.
    pub fn as_status_str(self) -> &'static str {
        match self {
            StateReason::Unknown => "unknown",
            StateReason::Booted => "booted",
            StateReason::Unpaused => "unpaused",
            StateReason::User => "user",
            StateReason::StartingUp => "starting-up",
            StateReason::ShutdownUser => "shutdown-user",
            StateReason::Shutdown => "shutdown",
            StateReason::Destroyed => "destroyed",
            StateReason::Crashed => "crashed",
            StateReason::Failed => "failed",
            StateReason::Panicked => "panicked",
            StateReason::PausedShuttingDown => "shutting-down",
        }
    }
}

/// One domain as lookups and listings return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSummary {
    pub name: String,
    pub uuid: Uuid,
    /// The id while active.
    pub id: Option<u32>,
    pub state: DomainState,
    pub reason: StateReason,
    pub persistent: bool,
}

/// What `virDomainGetInfo` returns plus what `dominfo` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainInfo {
    pub summary: DomainSummary,
    pub os_type: String,
    pub max_mem_kib: u64,
    pub memory_kib: u64,
    pub vcpus: u32,
    /// Total CPU time used, nanoseconds (0 when inactive).
    pub cpu_time_ns: u64,
    pub autostart: bool,
    /// One (model, doi, label) per active security backend.
    pub security: Vec<SecurityInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityInfo {
    pub model: String,
    pub doi: String,
    pub label: Option<String>,
}

/// Which domains `list` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListFilter {
    pub active: bool,
    pub inactive: bool,
}

/// Flags for `xml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XmlFlags {
    /// The persistent definition instead of the live one.
    pub inactive: bool,
    /// Include security labels (`--security-info`).
    pub secure: bool,
}

/// An open connection to a hypervisor driver: libvirt's domain API shape.
pub trait Connection: Send + Sync {
    /// The canonical URI of this connection.
    fn uri(&self) -> String;
    /// The driver's name as `virsh version` prints it (`QEMU`).
    fn hypervisor_type(&self) -> &'static str;
    /// The hypervisor version as libvirt encodes it: major * 1_000_000 + minor * 1000 + micro.
    fn hypervisor_version(&self) -> Result<u64>;

    fn list(&self, filter: ListFilter) -> Result<Vec<DomainSummary>>;
    fn lookup(&self, key: &DomainKey) -> Result<DomainSummary>;
    /// Define (or redefine) a persistent domain from XML.
    fn define_xml(&self, xml: &str) -> Result<DomainSummary>;
    fn undefine(&self, key: &DomainKey) -> Result<()>;
    /// Start a transient domain from XML.
    fn create_xml(&self, xml: &str) -> Result<DomainSummary>;
    /// Start a defined domain.
    fn start(&self, key: &DomainKey) -> Result<DomainSummary>;
    /// Ask the guest to power off (ACPI) and wait for it.
    fn shutdown(&self, key: &DomainKey) -> Result<()>;
    /// Stop the domain now.
    fn destroy(&self, key: &DomainKey) -> Result<()>;
    fn suspend(&self, key: &DomainKey) -> Result<()>;
    fn resume(&self, key: &DomainKey) -> Result<()>;
    fn info(&self, key: &DomainKey) -> Result<DomainInfo>;
    fn xml(&self, key: &DomainKey, flags: XmlFlags) -> Result<String>;

    // Everything below has a default so that a driver can grow into it. New methods go
    // at the end, each with a default.

    /// The host's name (`virsh hostname`).
    fn hostname(&self) -> Result<String> {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .map_err(|e| crate::Error::system("cannot read /proc/sys/kernel/hostname", e))
    }
    /// The capabilities XML (`virsh capabilities`).
    fn capabilities(&self) -> Result<String> {
        Err(not_supported("capabilities"))
    }
    /// The domain capabilities XML (`virsh domcapabilities`); `None` means the default.
    fn domain_capabilities(
        &self,
        _emulator: Option<&str>,
        _arch: Option<&str>,
        _machine: Option<&str>,
        _virttype: Option<&str>,
    ) -> Result<String> {
        Err(not_supported("domain capabilities"))
    }
    /// Domain XML → native config (`format` is `qemu-argv`).
    fn xml_to_native(&self, _format: &str, _xml: &str) -> Result<String> {
        Err(not_supported("domxml-to-native"))
    }
    /// Native config → domain XML (`format` is `qemu-argv`).
    fn xml_from_native(&self, _format: &str, _native: &str) -> Result<String> {
        Err(not_supported("domxml-from-native"))
    }
    /// A QMP command (JSON text), or an HMP command when `hmp`; the reply text.
    fn monitor_command(&self, _key: &DomainKey, _command: &str, _hmp: bool) -> Result<String> {
        Err(not_supported("qemu-monitor-command"))
    }
    /// The host's primary security model and DOI (`virNodeGetSecurityModel`, the
    /// `Security model:` / `Security DOI:` lines of `dominfo`); `None` when the driver
    /// does not say.
    fn security_model(&self) -> Result<Option<(String, String)>> {
        Ok(None)
    }
    /// The confinement report of a domain, running (what its QEMU was started with and
    /// what `/proc` shows) or not (what the next start would apply); `oxvirt
    /// confinement`.
    fn confinement_report(
        &self,
        _key: &DomainKey,
    ) -> Result<crate::security::report::ConfinementReport> {
        Err(not_supported("confinement"))
    }
    /// The domain changes the driver saw since the last call, in order (lifecycle events
    /// of the daemon); `None` when the driver does not report changes (then the caller
    /// diffs `list`). The first call starts the recording.
    fn changes(&self) -> Option<Vec<DomainChange>> {
        None
    }
    /// Block until [`Connection::changes`] may have something new, at most `timeout`.
    fn wait_changes(&self, timeout: std::time::Duration) {
        std::thread::sleep(timeout)
    }
}

/// One domain's summary before and after a change (`None`: it did not / does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainChange {
    pub before: Option<DomainSummary>,
    pub after: Option<DomainSummary>,
}

fn not_supported(what: &str) -> crate::Error {
    crate::Error::new(
        crate::ErrorCode::NoSupport,
        crate::ErrorDomain::None,
        format!("this function is not supported by the connection driver: {what}"),
    )
}
