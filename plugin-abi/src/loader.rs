//! Loading plugins: every `*.so` in `plugin_dir`, each with abi_stable's checked loading
//! (`lib_header_from_path` + `init_root_module`: the crate-version check, then the layout
//! of every type reachable from [`PluginMod`] compared with the host's), then oxvirt's
//! [`ABI_VERSION`](crate::ABI_VERSION) and kind check.
//!
//! A file that fails any step is a [`PluginError`] naming the file and what mismatched;
//! the other files still load. A panic in a plugin's root-module function is caught by
//! abi_stable; one anywhere else while loading is caught here. Libraries are never
//! unloaded (abi_stable leaks them on purpose: their code may be referenced by tables).

use crate::abi::{check_module, DriverTable, PluginKind, PluginModRef, SecurityTable};
use crate::host::{PluginConnection, PluginSecurityBackend};
use abi_stable::library::{lib_header_from_path, LibraryError, RootModuleError};
use oxvirt_core::driver::Connection;
use oxvirt_core::registry::ExternalDrivers;
use oxvirt_core::security::{BackendSettings, SecurityBackend};
use oxvirt_core::uri::ConnectUri;
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// A plugin that loaded and passed every check.
#[derive(Clone)]
pub struct LoadedPlugin {
    pub path: PathBuf,
    /// Security model or driver name.
    pub name: String,
    pub kind: PluginKind,
    module: PluginModRef,
}

impl fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("path", &self.path)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish()
    }
}

impl LoadedPlugin {
    pub fn security_table(&self) -> Option<SecurityTable> {
        self.module.security().into_option()
    }
    pub fn driver_table(&self) -> Option<DriverTable> {
        self.module.driver().into_option()
    }
}

/// A file in `plugin_dir` that could not be used as a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    pub path: PathBuf,
    /// What is wrong, for a person: the mismatch and what to do.
    pub message: String,
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plugin '{}': {}", self.path.display(), self.message)
    }
}

impl std::error::Error for PluginError {}

/// At most this many lines of abi_stable's layout report go into a message.
const LAYOUT_REPORT_LINES: usize = 12;

fn describe(e: LibraryError) -> String {
    match e {
        LibraryError::OpenError { err, .. } => {
            format!("cannot be loaded as a shared object: {err}")
        }
        LibraryError::GetSymbolError { .. } => {
            "is not an oxvirt plugin: it does not export abi_stable's root module \
             (build it with #[export_root_module] and oxvirt-plugin-abi)"
                .to_string()
        }
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => format!(
            "was built against oxvirt-plugin-abi {actual_version}, incompatible with this \
             oxvirt's {expected_version}; rebuild the plugin"
        ),
        LibraryError::AbiInstability(report) => {
            let text = report.to_string();
            let mut lines: Vec<&str> = text.lines().take(LAYOUT_REPORT_LINES).collect();
            if text.lines().count() > LAYOUT_REPORT_LINES {
                lines.push("...");
            }
            format!(
                "the layout of its root module does not match this oxvirt's \
                 (built against a different oxvirt-plugin-abi); rebuild the plugin. \
                 abi_stable reports: {}",
                lines.join("\n  ")
            )
        }
        LibraryError::RootModule {
            err: RootModuleError::Unwound,
            ..
        } => "panicked while creating its root module".to_string(),
        LibraryError::RootModule { err, .. } => {
            format!("failed to create its root module: {err}")
        }
        other => other.to_string(),
    }
}

/// Load one plugin file.
pub fn load_plugin(path: &Path) -> std::result::Result<LoadedPlugin, PluginError> {
    let fail = |message: String| PluginError {
        path: path.to_path_buf(),
        message,
    };
    let loaded = catch_unwind(AssertUnwindSafe(|| {
        lib_header_from_path(path)?.init_root_module::<PluginModRef>()
    }))
    .map_err(|_| fail("panicked while being loaded".into()))?;
    let module = loaded.map_err(|e| fail(describe(e)))?;
    let kind = module.kind();
    check_module(
        module.abi_version(),
        kind,
        module.security().is_some(),
        module.driver().is_some(),
    )
    .map_err(fail)?;
    Ok(LoadedPlugin {
        path: path.to_path_buf(),
        name: module.name().as_str().to_string(),
        kind,
        module,
    })
}

/// Load every `*.so` in `dir` (sorted by file name). A missing directory holds no
/// plugins; an unreadable one is one error.
pub fn load_plugins(dir: &Path) -> (Vec<LoadedPlugin>, Vec<PluginError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), Vec::new()),
        Err(e) => {
            return (
                Vec::new(),
                vec![PluginError {
                    path: dir.to_path_buf(),
                    message: format!("cannot read the plugin directory: {e}"),
                }],
            )
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "so") && !p.is_dir())
        .collect();
    files.sort();
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match load_plugin(&f) {
            Ok(p) => ok.push(p),
            Err(e) => errors.push(e),
        }
    }
    (ok, errors)
}

/// The plugins of one directory, as loaded once by this process.
#[derive(Debug)]
pub struct PluginSet {
    pub dir: PathBuf,
    pub plugins: Vec<LoadedPlugin>,
    pub errors: Vec<PluginError>,
}

impl PluginSet {
    /// Load `dir` (uncached; see [`plugin_set`]).
    pub fn load(dir: &Path) -> PluginSet {
        let (plugins, errors) = load_plugins(dir);
        PluginSet {
            dir: dir.to_path_buf(),
            plugins,
            errors,
        }
    }

    fn failures(&self) -> String {
        self.errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The security backend `model` from a plugin, created with `settings`. `None` when
    /// no plugin provides it and every file loaded; when some file failed to load, the
    /// miss is an error naming those files (one of them may have been the backend).
    pub fn security_backend(
        &self,
        model: &str,
        settings: &BackendSettings,
    ) -> Option<Result<Box<dyn SecurityBackend>>> {
        let found = self
            .plugins
            .iter()
            .find(|p| p.kind == PluginKind::Security && p.name == model);
        match found {
            Some(p) => {
                let table = p.security_table()?;
                Some(
                    PluginSecurityBackend::create(table, &p.path, settings)
                        .map(|b| Box::new(b) as Box<dyn SecurityBackend>),
                )
            }
            None if self.errors.is_empty() => None,
            None => Some(Err(Error::new(
                ErrorCode::SecurityError,
                ErrorDomain::Security,
                format!(
                    "Security driver '{model}' not found: it is neither built in nor provided by a \
                     plugin in '{}', where some plugins failed to load: {}",
                    self.dir.display(),
                    self.failures()
                ),
            ))),
        }
    }

    /// Names of the security models the plugins provide.
    pub fn security_models(&self) -> Vec<String> {
        self.named(PluginKind::Security)
    }

    fn named(&self, kind: PluginKind) -> Vec<String> {
        self.plugins
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.name.clone())
            .collect()
    }
}

impl ExternalDrivers for PluginSet {
    fn open(&self, uri: &ConnectUri) -> Result<Option<Box<dyn Connection>>> {
        for p in self.plugins.iter().filter(|p| p.kind == PluginKind::Driver) {
            let Some(table) = p.driver_table() else {
                continue;
            };
            if let Some(c) = PluginConnection::open(table, &p.path, &uri.original)? {
                return Ok(Some(Box::new(c)));
            }
        }
        Ok(None)
    }
    fn names(&self) -> Vec<String> {
        self.named(PluginKind::Driver)
            .into_iter()
            .map(|n| format!("{n} (plugin)"))
            .collect()
    }
    fn problems(&self) -> Vec<String> {
        self.errors.iter().map(|e| e.to_string()).collect()
    }
}

/// The plugins of `dir`, loaded on first use and kept for the life of the process.
pub fn plugin_set(dir: &Path) -> Arc<PluginSet> {
    static SETS: OnceLock<Mutex<HashMap<PathBuf, Arc<PluginSet>>>> = OnceLock::new();
    let mut sets = SETS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    sets.entry(dir.to_path_buf())
        .or_insert_with(|| Arc::new(PluginSet::load(dir)))
        .clone()
}

/// Where a front end looks for plugins when no qemu.toml names a `plugin_dir`:
/// `$OXVIRT_PLUGIN_DIR`, else `/usr/lib/oxvirt/plugins`.
pub fn default_plugin_dir() -> PathBuf {
    std::env::var_os("OXVIRT_PLUGIN_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/oxvirt/plugins"))
}

/// Load `dir` and make its driver plugins available to
/// [`oxvirt_core::registry::open`]. Returns the files that failed to load, for the
/// front end to warn about.
pub fn install_driver_plugins(dir: &Path) -> Vec<PluginError> {
    let set = plugin_set(dir);
    oxvirt_core::registry::add_external(set.clone());
    set.errors.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("libjunk.so");
        std::fs::write(&junk, b"\x7fELF not really").unwrap();
        std::fs::write(dir.path().join("README"), b"not a plugin").unwrap();
        let (ok, errs) = load_plugins(dir.path());
        assert!(ok.is_empty());
        assert_eq!(errs.len(), 1, "{errs:?}");
        let msg = errs[0].to_string();
        assert!(
            msg.starts_with(&format!("plugin '{}': ", junk.display())),
            "{msg}"
        );
        assert!(msg.contains("cannot be loaded as a shared object"), "{msg}");
    }

    #[test]
    fn a_library_without_root_module_is_not_a_plugin() {
        let libm = Path::new("/lib/x86_64-linux-gnu/libm.so.6");
        if !libm.exists() {
            return;
        }
        let e = load_plugin(libm).unwrap_err();
        assert!(e.message.contains("is not an oxvirt plugin"), "{e}");
    }

    #[test]
    fn missing_dir_has_no_plugins() {
        let (ok, errs) = load_plugins(Path::new("/nonexistent/oxvirt/plugins"));
        assert!(ok.is_empty() && errs.is_empty());
    }
}
