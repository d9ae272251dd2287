//! oxvirt-config: the `qemu.toml` schema, its defaults and its loading.
//!
//! Owns: reading and validating configuration files. Must not touch: anything else —
//! callers decide what a setting does.
//!
//! `qemu.toml` keeps qemu.conf's key names and meanings (see `docs/configuration.md`).
//! The file is read in three steps: TOML syntax, then each key's type, then each value.
//! Every error names the file, the line (where known), the key, the problem and the fix.

use serde::de::IgnoredAny;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use toml::{Spanned, Value};

/// Which driver instance a configuration belongs to (libvirt's `qemu:///system`,
/// `qemu:///session`, `qemu:///embed?root=ROOT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instance {
    System,
    Session,
    Embed(PathBuf),
}

/// `security_driver`: one name, a list (first is primary), or unset (probe).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SecurityDriverSetting {
    #[default]
    Unset,
    One(String),
    List(Vec<String>),
}

impl SecurityDriverSetting {
    /// The configured names in order (empty when unset).
    pub fn names(&self) -> Vec<&str> {
        match self {
            SecurityDriverSetting::Unset => Vec::new(),
            SecurityDriverSetting::One(n) => vec![n.as_str()],
            SecurityDriverSetting::List(l) => l.iter().map(String::as_str).collect(),
        }
    }

    /// `security_driver = "none"` (or `["none"]`): no confinement at all.
    pub fn is_none(&self) -> bool {
        self.names() == ["none"]
    }
}

/// Security driver names oxvirt ships. Plugins may register more, so any well-formed
/// name is accepted; these are only listed in error messages.
pub const BUILTIN_SECURITY_DRIVERS: &[&str] = &["none", "dac", "selinux", "apparmor", "landlock"];

/// cgroup controllers qemu.conf accepts in `cgroup_controllers`.
pub const CGROUP_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "net_cls",
    "perf_event",
    "name=systemd",
];

/// libvirt's default `cgroup_device_acl`: devices every guest may open.
pub const DEFAULT_CGROUP_DEVICE_ACL: &[&str] = &[
    "/dev/null",
    "/dev/full",
    "/dev/zero",
    "/dev/random",
    "/dev/urandom",
    "/dev/ptmx",
    "/dev/kvm",
    "/dev/userfaultfd",
];

/// Every key of `qemu.toml`, in file order of the documentation.
pub const KNOWN_KEYS: &[&str] = &[
    "user",
    "group",
    "dynamic_ownership",
    "remember_owner",
    "security_driver",
    "security_default_confined",
    "security_require_confined",
    "clear_emulator_capabilities",
    "cgroup_controllers",
    "cgroup_device_acl",
    "seccomp_sandbox",
    "namespaces",
    "max_processes",
    "max_files",
    "vnc_listen",
    "plugin_dir",
    "emulator_dirs",
    "destroy_grace_seconds",
    "shutdown_timeout_seconds",
];

/// Every key of `qemu.toml`. Names and meanings are qemu.conf's unless marked oxvirt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuConfig {
    /// User QEMU runs as (`"name"` or `"+uid"`); `None`: the daemon's own user.
    pub user: Option<String>,
    /// Group QEMU runs as (`"name"` or `"+gid"`); `None`: the daemon's own group.
    pub group: Option<String>,
    pub dynamic_ownership: bool,
    pub remember_owner: bool,
    pub security_driver: SecurityDriverSetting,
    pub security_default_confined: bool,
    pub security_require_confined: bool,
    pub clear_emulator_capabilities: bool,
    /// `None`: use every controller that is mounted.
    pub cgroup_controllers: Option<Vec<String>>,
    /// `None`: [`DEFAULT_CGROUP_DEVICE_ACL`].
    pub cgroup_device_acl: Option<Vec<String>>,
    /// -1: QEMU's default (enabled on every QEMU we support), 0: off, 1: on.
    pub seccomp_sandbox: i32,
    pub namespaces: Vec<String>,
    /// 0: leave the limit alone.
    pub max_processes: u64,
    /// 0: leave the limit alone.
    pub max_files: u64,
    /// Address VNC servers listen on when the domain XML gives none.
    pub vnc_listen: String,
    /// oxvirt: where external plugins (`.so`) are loaded from.
    pub plugin_dir: Option<PathBuf>,
    /// oxvirt: where QEMU binaries are looked for.
    pub emulator_dirs: Vec<PathBuf>,
    /// oxvirt: `destroy` sends SIGTERM, then SIGKILL after this many seconds.
    pub destroy_grace_seconds: u64,
    /// oxvirt: how long `shutdown` waits for the guest to power off.
    pub shutdown_timeout_seconds: u64,
}

impl Default for QemuConfig {
    /// libvirt's defaults for a privileged (system) instance.
    fn default() -> Self {
        QemuConfig {
            user: None,
            group: None,
            dynamic_ownership: true,
            remember_owner: true,
            security_driver: SecurityDriverSetting::Unset,
            security_default_confined: true,
            security_require_confined: false,
            clear_emulator_capabilities: true,
            cgroup_controllers: None,
            cgroup_device_acl: None,
            seccomp_sandbox: -1,
            namespaces: vec!["mount".to_string()],
            max_processes: 0,
            max_files: 0,
            vnc_listen: "127.0.0.1".to_string(),
            plugin_dir: None,
            emulator_dirs: vec![PathBuf::from("/usr/bin")],
            destroy_grace_seconds: 10,
            shutdown_timeout_seconds: 300,
        }
    }
}

/// Where an error was found: the file, and the line when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.path.display(), line),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("Cannot read config file '{path}': {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Cannot find the session config directory: neither XDG_CONFIG_HOME nor HOME is set")]
    NoConfigDir,
    #[error("{location}: {message} (fix the TOML syntax on that line)")]
    Syntax {
        location: Location,
        column: usize,
        message: String,
    },
    #[error("{location}: unknown key '{key}' (known keys: {})", KNOWN_KEYS.join(", "))]
    UnknownKey { location: Location, key: String },
    #[error("{location}: key '{key}': expected {expected}, found {found}")]
    WrongType {
        location: Location,
        key: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("{location}: key '{key}': {problem}; {fix}")]
    InvalidValue {
        location: Location,
        key: String,
        problem: String,
        fix: String,
    },
}

impl ConfigError {
    /// The line the error is on, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Syntax { location, .. }
            | ConfigError::UnknownKey { location, .. }
            | ConfigError::WrongType { location, .. }
            | ConfigError::InvalidValue { location, .. } => location.line,
            ConfigError::Read { .. } | ConfigError::NoConfigDir => None,
        }
    }

    /// The key the error is about, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { key, .. }
            | ConfigError::WrongType { key, .. }
            | ConfigError::InvalidValue { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// Where `instance` reads `qemu.toml` from, using this process's environment.
///
/// System: `/etc/oxvirt/qemu.toml`; session: `$XDG_CONFIG_HOME/oxvirt/qemu.toml`
/// (falling back to `$HOME/.config/oxvirt/qemu.toml`); embed: `ROOT/etc/qemu.toml`.
pub fn config_path(instance: &Instance) -> Result<PathBuf, ConfigError> {
    config_path_with(
        instance,
        std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

/// [`config_path`] with the environment passed in (for tests and callers that already
/// resolved it). As the XDG spec says, a relative or empty `XDG_CONFIG_HOME` is ignored.
pub fn config_path_with(
    instance: &Instance,
    xdg_config_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Result<PathBuf, ConfigError> {
    match instance {
        Instance::System => Ok(PathBuf::from("/etc/oxvirt/qemu.toml")),
        Instance::Embed(root) => Ok(root.join("etc/qemu.toml")),
        Instance::Session => {
            let base = match (xdg_config_home.filter(|p| p.is_absolute()), home) {
                (Some(xdg), _) => xdg,
                (None, Some(home)) if !home.as_os_str().is_empty() => home.join(".config"),
                _ => return Err(ConfigError::NoConfigDir),
            };
            Ok(base.join("oxvirt/qemu.toml"))
        }
    }
}

impl QemuConfig {
    /// The defaults for `instance`. Only `namespaces` differs: an unprivileged session
    /// instance cannot create a mount namespace, so it defaults to none.
    pub fn default_for(instance: &Instance) -> QemuConfig {
        let mut c = QemuConfig::default();
        if *instance == Instance::Session {
            c.namespaces.clear();
        }
        c
    }

    /// Load the configuration of `instance` from [`config_path`]; a missing file gives
    /// the instance's defaults.
    pub fn load(instance: &Instance) -> Result<QemuConfig, ConfigError> {
        let path = config_path(instance)?;
        Self::load_over(QemuConfig::default_for(instance), &path)
    }

    /// Load `path` over the system defaults; a missing file gives the defaults.
    pub fn load_or_default(path: &Path) -> Result<QemuConfig, ConfigError> {
        Self::load_over(QemuConfig::default(), path)
    }

    /// Load `path` over `base`; a missing file gives `base`.
    pub fn load_over(base: QemuConfig, path: &Path) -> Result<QemuConfig, ConfigError> {
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Self::parse_over(base, path, &text),
                Err(e) => {
                    let offset = e.utf8_error().valid_up_to();
                    let text = String::from_utf8_lossy(e.as_bytes());
                    let (line, column) = line_col(&text, offset);
                    Err(ConfigError::Syntax {
                        location: Location {
                            path: path.to_path_buf(),
                            line: Some(line),
                        },
                        column,
                        message: "the file is not valid UTF-8".to_string(),
                    })
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(base),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parse `text` read from `path` over the system defaults (the path only names the
    /// file in errors).
    pub fn parse(path: &Path, text: &str) -> Result<QemuConfig, ConfigError> {
        Self::parse_over(QemuConfig::default(), path, text)
    }

    /// Parse `text` read from `path`: keys present in `text` replace those of `base`.
    pub fn parse_over(
        base: QemuConfig,
        path: &Path,
        text: &str,
    ) -> Result<QemuConfig, ConfigError> {
        let syntax = |e: toml::de::Error| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            ConfigError::Syntax {
                location: Location {
                    path: path.to_path_buf(),
                    line: (line > 0).then_some(line),
                },
                column,
                message: e.message().trim_end().to_string(),
            }
        };
        // Values, then the span of each top-level key (a second pass: toml cannot
        // give spans inside a `Spanned<Value>` that holds a dotted-key table).
        let table: toml::Table = toml::from_str(text).map_err(syntax)?;
        let spans: BTreeMap<Spanned<String>, IgnoredAny> = toml::from_str(text).map_err(syntax)?;

        // Report problems in file order, not in key order.
        let mut entries: Vec<(usize, String, Value)> = table
            .into_iter()
            .map(|(k, v)| {
                let start = spans
                    .get_key_value(k.as_str())
                    .map(|(s, _)| s.span().start)
                    .unwrap_or(usize::MAX);
                (start, k, v)
            })
            .collect();
        entries.sort_by_key(|(start, _, _)| *start);

        let mut c = base;
        for (start, key, value) in &entries {
            let f = Field {
                key,
                value,
                location: Location {
                    path: path.to_path_buf(),
                    line: (*start != usize::MAX).then(|| line_col(text, *start).0),
                },
            };
            match f.key {
                "user" => c.user = Some(f.string()?),
                "group" => c.group = Some(f.string()?),
                "dynamic_ownership" => c.dynamic_ownership = f.boolean()?,
                "remember_owner" => c.remember_owner = f.boolean()?,
                "security_driver" => c.security_driver = f.security_driver()?,
                "security_default_confined" => c.security_default_confined = f.boolean()?,
                "security_require_confined" => c.security_require_confined = f.boolean()?,
                "clear_emulator_capabilities" => c.clear_emulator_capabilities = f.boolean()?,
                "cgroup_controllers" => c.cgroup_controllers = Some(f.string_list()?),
                "cgroup_device_acl" => c.cgroup_device_acl = Some(f.string_list()?),
                "seccomp_sandbox" => c.seccomp_sandbox = f.seccomp()?,
                "namespaces" => c.namespaces = f.string_list()?,
                "max_processes" => c.max_processes = f.unsigned()?,
                "max_files" => c.max_files = f.unsigned()?,
                "vnc_listen" => c.vnc_listen = f.string()?,
                "plugin_dir" => c.plugin_dir = Some(PathBuf::from(f.string()?)),
                "emulator_dirs" => {
                    c.emulator_dirs = f.string_list()?.into_iter().map(PathBuf::from).collect()
                }
                "destroy_grace_seconds" => c.destroy_grace_seconds = f.unsigned()?,
                "shutdown_timeout_seconds" => c.shutdown_timeout_seconds = f.unsigned()?,
                other => {
                    return Err(ConfigError::UnknownKey {
                        location: f.location,
                        key: other.to_string(),
                    })
                }
            }
            if let Err((problem, fix)) = c.check_key(f.key) {
                return Err(ConfigError::InvalidValue {
                    location: f.location,
                    key: f.key.to_string(),
                    problem,
                    fix,
                });
            }
        }
        Ok(c)
    }

    /// Check every value (the loader already did; this is for configurations built in
    /// code). Errors name `path` without a line.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        for key in KNOWN_KEYS {
            if let Err((problem, fix)) = self.check_key(key) {
                return Err(ConfigError::InvalidValue {
                    location: Location {
                        path: path.to_path_buf(),
                        line: None,
                    },
                    key: key.to_string(),
                    problem,
                    fix,
                });
            }
        }
        Ok(())
    }

    /// The devices guests may open: `cgroup_device_acl`, or libvirt's default list.
    pub fn effective_cgroup_device_acl(&self) -> Vec<String> {
        match &self.cgroup_device_acl {
            Some(acl) => acl.clone(),
            None => DEFAULT_CGROUP_DEVICE_ACL
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }

    /// Check the value of one key: `Err((problem, fix))`.
    fn check_key(&self, key: &str) -> Result<(), (String, String)> {
        match key {
            "user" => check_id(self.user.as_deref(), "user"),
            "group" => check_id(self.group.as_deref(), "group"),
            "security_driver" => check_security_driver(&self.security_driver),
            "cgroup_controllers" => check_cgroup_controllers(self.cgroup_controllers.as_deref()),
            "cgroup_device_acl" => check_device_acl(self.cgroup_device_acl.as_deref()),
            "seccomp_sandbox" => {
                if (-1..=1).contains(&self.seccomp_sandbox) {
                    Ok(())
                } else {
                    Err((
                        format!("{} is out of range", self.seccomp_sandbox),
                        "use -1 (QEMU's default), 0 (off) or 1 (on)".to_string(),
                    ))
                }
            }
            "namespaces" => check_namespaces(&self.namespaces),
            "vnc_listen" => check_vnc_listen(&self.vnc_listen),
            "plugin_dir" => match &self.plugin_dir {
                Some(dir) => check_abs_dir(dir),
                None => Ok(()),
            },
            "emulator_dirs" => {
                if self.emulator_dirs.is_empty() {
                    return Err((
                        "the list is empty, so no QEMU binary can be found".to_string(),
                        "list at least one directory, e.g. [\"/usr/bin\"]".to_string(),
                    ));
                }
                self.emulator_dirs
                    .iter()
                    .try_for_each(|d| check_abs_dir(d))?;
                check_no_duplicates(self.emulator_dirs.iter().map(|d| d.display().to_string()))
            }
            "destroy_grace_seconds" => check_max(self.destroy_grace_seconds, 3600),
            "shutdown_timeout_seconds" => check_max(self.shutdown_timeout_seconds, 86400),
            _ => Ok(()),
        }
    }
}

/// One `key = value` of the file, for type conversion with located errors.
struct Field<'a> {
    key: &'a str,
    value: &'a Value,
    location: Location,
}

impl Field<'_> {
    fn wrong_type(&self, expected: &'static str) -> ConfigError {
        ConfigError::WrongType {
            location: self.location.clone(),
            key: self.key.to_string(),
            expected,
            found: type_name(self.value),
        }
    }

    fn invalid(&self, problem: String, fix: &str) -> ConfigError {
        ConfigError::InvalidValue {
            location: self.location.clone(),
            key: self.key.to_string(),
            problem,
            fix: fix.to_string(),
        }
    }

    fn boolean(&self) -> Result<bool, ConfigError> {
        self.value
            .as_bool()
            .ok_or_else(|| self.wrong_type("a boolean (true or false)"))
    }

    fn string(&self) -> Result<String, ConfigError> {
        self.value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| self.wrong_type("a string in double quotes"))
    }

    fn integer(&self) -> Result<i64, ConfigError> {
        self.value
            .as_integer()
            .ok_or_else(|| self.wrong_type("an integer"))
    }

    fn seccomp(&self) -> Result<i32, ConfigError> {
        let n = self.integer()?;
        match i32::try_from(n) {
            Ok(n @ -1..=1) => Ok(n),
            _ => Err(self.invalid(
                format!("{n} is out of range"),
                "use -1 (QEMU's default), 0 (off) or 1 (on)",
            )),
        }
    }

    fn unsigned(&self) -> Result<u64, ConfigError> {
        let n = self
            .value
            .as_integer()
            .ok_or_else(|| self.wrong_type("a non-negative integer"))?;
        u64::try_from(n)
            .map_err(|_| self.invalid(format!("{n} is negative"), "use 0 or a positive integer"))
    }

    fn string_list(&self) -> Result<Vec<String>, ConfigError> {
        let expected = "a list of strings, e.g. [\"a\", \"b\"]";
        let items = self
            .value
            .as_array()
            .ok_or_else(|| self.wrong_type(expected))?;
        items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                let found = items
                    .iter()
                    .find(|v| !v.is_str())
                    .map(type_name)
                    .unwrap_or("something else");
                ConfigError::WrongType {
                    location: self.location.clone(),
                    key: self.key.to_string(),
                    expected,
                    found: list_of(found),
                }
            })
    }

    fn security_driver(&self) -> Result<SecurityDriverSetting, ConfigError> {
        match self.value {
            Value::String(s) => Ok(SecurityDriverSetting::One(s.clone())),
            Value::Array(_) => self
                .string_list()
                .map_err(|_| self.wrong_type_list("a string or a list of strings"))
                .map(SecurityDriverSetting::List),
            _ => Err(self.wrong_type("a string or a list of strings")),
        }
    }

    fn wrong_type_list(&self, expected: &'static str) -> ConfigError {
        let found = self
            .value
            .as_array()
            .and_then(|a| a.iter().find(|v| !v.is_str()))
            .map(|v| list_of(type_name(v)))
            .unwrap_or("something else");
        ConfigError::WrongType {
            location: self.location.clone(),
            key: self.key.to_string(),
            expected,
            found,
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

fn list_of(item: &'static str) -> &'static str {
    match item {
        "an integer" => "a list containing an integer",
        "a float" => "a list containing a float",
        "a boolean" => "a list containing a boolean",
        "a date-time" => "a list containing a date-time",
        "a list" => "a list containing a list",
        "a table" => "a list containing a table",
        _ => "a list containing something else",
    }
}

type Check = Result<(), (String, String)>;

fn bad(problem: impl Into<String>, fix: impl Into<String>) -> Check {
    Err((problem.into(), fix.into()))
}

fn check_id(value: Option<&str>, what: &str) -> Check {
    let Some(v) = value else { return Ok(()) };
    if v.is_empty() {
        return bad(
            "the name is empty",
            format!("give a {what} name, or \"+N\" for the numeric id N, or remove the key"),
        );
    }
    if let Some(digits) = v.strip_prefix('+') {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return bad(
                format!("'{v}' starts with '+' but is not followed by digits only"),
                format!("write \"+N\" with N the numeric {what} id, e.g. \"+107\""),
            );
        }
        if digits.parse::<u32>().is_err() {
            return bad(
                format!("'{v}' is not a valid numeric id"),
                "use an id below 4294967296",
            );
        }
        return Ok(());
    }
    if v.chars()
        .any(|c| c.is_whitespace() || c == ':' || c == '/' || c.is_control())
    {
        return bad(
            format!("'{v}' is not a valid {what} name"),
            format!(
                "give the {what} name as in /etc/{}, without spaces, ':' or '/'",
                if what == "user" { "passwd" } else { "group" }
            ),
        );
    }
    Ok(())
}

fn check_security_driver(s: &SecurityDriverSetting) -> Check {
    let names = s.names();
    if let SecurityDriverSetting::List(l) = s {
        if l.is_empty() {
            return bad(
                "the list is empty",
                "name at least one driver, use \"none\" to disable confinement, or remove the key to probe",
            );
        }
    }
    for n in &names {
        let ok = !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return bad(
                format!("'{n}' is not a security driver name"),
                format!(
                    "use one of {} or the name of a security plugin (lowercase letters, digits, '_' and '-')",
                    BUILTIN_SECURITY_DRIVERS.join(", ")
                ),
            );
        }
    }
    if names.len() > 1 && names.contains(&"none") {
        return bad(
            "\"none\" is combined with other drivers",
            "use either \"none\" alone or a list of real drivers",
        );
    }
    check_no_duplicates(names.iter().map(|s| s.to_string()))
}

fn check_no_duplicates(items: impl Iterator<Item = String>) -> Check {
    let mut seen = std::collections::BTreeSet::new();
    for i in items {
        if !seen.insert(i.clone()) {
            return bad(format!("'{i}' is listed twice"), "list each entry once");
        }
    }
    Ok(())
}

fn check_cgroup_controllers(list: Option<&[String]>) -> Check {
    let Some(list) = list else { return Ok(()) };
    for c in list {
        if !CGROUP_CONTROLLERS.contains(&c.as_str()) {
            return bad(
                format!("'{c}' is not a cgroup controller"),
                format!("use some of {}", CGROUP_CONTROLLERS.join(", ")),
            );
        }
    }
    check_no_duplicates(list.iter().cloned())
}

fn check_device_acl(list: Option<&[String]>) -> Check {
    let Some(list) = list else { return Ok(()) };
    for d in list {
        let clean = d.strip_prefix("/dev/").is_some_and(|rest| {
            rest.split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..")
        });
        if !clean {
            return bad(
                format!("'{d}' is not a device path under /dev"),
                "give absolute paths under /dev without '.' or '..', e.g. \"/dev/kvm\"",
            );
        }
    }
    check_no_duplicates(list.iter().cloned())
}

fn check_namespaces(list: &[String]) -> Check {
    for n in list {
        if n != "mount" {
            return bad(
                format!("'{n}' is not a supported namespace"),
                "only \"mount\" is supported: use [\"mount\"] or []",
            );
        }
    }
    check_no_duplicates(list.iter().cloned())
}

fn check_vnc_listen(v: &str) -> Check {
    let host_ok = !v.is_empty()
        && v.len() <= 253
        && v.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if v.parse::<IpAddr>().is_ok() || host_ok {
        Ok(())
    } else {
        bad(
            format!("'{v}' is neither an IP address nor a host name"),
            "use an address such as \"127.0.0.1\", \"0.0.0.0\" or \"::1\"",
        )
    }
}

fn check_abs_dir(dir: &Path) -> Check {
    if dir.is_absolute() {
        Ok(())
    } else {
        bad(
            format!("'{}' is not an absolute path", dir.display()),
            "give a path starting with '/'",
        )
    }
}

fn check_max(n: u64, max: u64) -> Check {
    if n <= max {
        Ok(())
    } else {
        bad(format!("{n} is too large"), format!("use at most {max}"))
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
