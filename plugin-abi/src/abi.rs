//! The types that cross the boundary: the root module every plugin exports, the security
//! backend and hypervisor driver function tables, the VM identity and the error.
//!
//! Every function takes and returns FFI-safe data only: `RStr`/`RString` (XML, or JSON of
//! core's serde types: `SecLabel`, `Resource`, `ChildConfinement`, `BackendSettings`, and
//! the mirrors in [`crate::wire`]), integers, `bool`, and [`FfiError`]. Instances (a
//! backend, a connection) are plugin-side objects named by a `u64` handle; the host never
//! dereferences it.

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{ROption, RResult, RStr, RString};
use abi_stable::{declare_root_module_statics, package_version_strings, StableAbi};
use oxvirt_core::{Error, ErrorCode, ErrorDomain};

/// The oxvirt plugin ABI version. The host loads only plugins that report exactly this
/// number (on top of abi_stable's own layout and crate-version checks). Bump it whenever
/// the meaning of a call changes without its layout changing (the layout is checked
/// anyway); see `docs/plugins.md`.
pub const ABI_VERSION: u32 = 2;

/// What a plugin provides.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    /// A security backend ([`SecurityTable`]); `name` is its model.
    Security = 1,
    /// A hypervisor driver ([`DriverTable`]); `name` is its driver name.
    Driver = 2,
}

impl PluginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Security => "security backend",
            PluginKind::Driver => "hypervisor driver",
        }
    }
}

/// An error: libvirt's error code and domain numbers and the message.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct FfiError {
    pub code: i32,
    pub domain: i32,
    pub message: RString,
}

/// The result of a plugin call.
pub type FfiResult<T> = RResult<T, FfiError>;

impl From<&Error> for FfiError {
    fn from(e: &Error) -> Self {
        FfiError {
            code: e.code.number(),
            domain: e.domain as i32,
            message: e.message.as_str().into(),
        }
    }
}

impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        FfiError::from(&e)
    }
}

impl FfiError {
    /// Back to core's error; unknown numbers become an internal error / no domain.
    pub fn into_error(self) -> Error {
        Error::new(
            code_from_number(self.code),
            domain_from_number(self.domain),
            self.message.into_string(),
        )
    }
}

/// core's [`ErrorCode`] for libvirt's number `n` (`InternalError` if unknown).
pub fn code_from_number(n: i32) -> ErrorCode {
    use ErrorCode::*;
    [
        InternalError,
        NoSupport,
        InvalidArg,
        OperationFailed,
        XmlError,
        OperationInvalid,
        ConfigUnsupported,
        OperationTimeout,
        NoDomain,
        DomainExists,
        SystemError,
        ConfNotFound,
        InvalidDomain,
        XmlDetail,
        SecurityError,
        AgentUnresponsive,
    ]
    .into_iter()
    .find(|c| c.number() == n)
    .unwrap_or(InternalError)
}

/// core's [`ErrorDomain`] for libvirt's number `n` (`None` if unknown).
pub fn domain_from_number(n: i32) -> ErrorDomain {
    use ErrorDomain::*;
    [None, Qemu, Conf, Dom, Rpc, Security, Domain, Config]
        .into_iter()
        .find(|d| *d as i32 == n)
        .unwrap_or(None)
}

/// The VM a security hook is called for (core's `VmContext` as data).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct VmData {
    pub name: RString,
    /// The uuid in its usual text form.
    pub uuid: RString,
    /// `qemu` or `kvm`.
    pub virt_type: RString,
    /// The driver runs privileged (root).
    pub privileged: bool,
    /// The domain's definition as started (libvirt domain XML).
    pub domain_xml: RString,
}

/// A security backend: `SecurityBackend`'s hooks. `label` arguments are JSON of a
/// `SecLabel`, `resources` JSON of a `Vec<Resource>`, `resource` JSON of one `Resource`.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct SecurityTable {
    /// Create an instance from JSON of `BackendSettings`; returns its handle.
    pub create: extern "C" fn(settings: RStr<'_>) -> FfiResult<u64>,
    /// Drop an instance.
    pub destroy: extern "C" fn(handle: u64),
    pub model: extern "C" fn(handle: u64) -> RString,
    pub doi: extern "C" fn(handle: u64) -> RString,
    pub probe: extern "C" fn(handle: u64) -> FfiResult<bool>,
    /// `requested` is JSON of `Option<SecLabel>`; returns JSON of a `SecLabel`.
    pub gen_label:
        extern "C" fn(handle: u64, vm: &VmData, requested: RStr<'_>) -> FfiResult<RString>,
    pub reserve_label: extern "C" fn(handle: u64, vm: &VmData, label: RStr<'_>) -> FfiResult<()>,
    pub release_label: extern "C" fn(handle: u64, vm: &VmData, label: RStr<'_>) -> FfiResult<()>,
    pub set_all_labels: extern "C" fn(
        handle: u64,
        vm: &VmData,
        label: RStr<'_>,
        resources: RStr<'_>,
    ) -> FfiResult<()>,
    pub restore_all_labels: extern "C" fn(
        handle: u64,
        vm: &VmData,
        label: RStr<'_>,
        resources: RStr<'_>,
    ) -> FfiResult<()>,
    pub set_image_label: extern "C" fn(
        handle: u64,
        vm: &VmData,
        label: RStr<'_>,
        resource: RStr<'_>,
    ) -> FfiResult<()>,
    pub restore_image_label: extern "C" fn(
        handle: u64,
        vm: &VmData,
        label: RStr<'_>,
        resource: RStr<'_>,
    ) -> FfiResult<()>,
    pub set_hostdev_label: extern "C" fn(
        handle: u64,
        vm: &VmData,
        label: RStr<'_>,
        resource: RStr<'_>,
    ) -> FfiResult<()>,
    pub restore_hostdev_label: extern "C" fn(
        handle: u64,
        vm: &VmData,
        label: RStr<'_>,
        resource: RStr<'_>,
    ) -> FfiResult<()>,
    /// Returns JSON of a `ChildConfinement`.
    pub child_confinement:
        extern "C" fn(handle: u64, vm: &VmData, label: RStr<'_>) -> FfiResult<RString>,
    /// Returns JSON of a [`crate::wire::WireSecModel`].
    pub secmodel: extern "C" fn(handle: u64) -> FfiResult<RString>,
    /// Returns JSON of `Option<SecLabel>`.
    pub live_seclabel: extern "C" fn(handle: u64, label: RStr<'_>) -> FfiResult<RString>,
}

/// A hypervisor driver: `Connection`'s calls. `key` arguments are JSON of a
/// [`crate::wire::WireKey`]; summaries and info are JSON of [`crate::wire::WireSummary`] and
/// [`crate::wire::WireInfo`]; XML is XML.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct DriverTable {
    /// Open `uri` if this driver serves it: `RSome(handle)`, else `RNone`.
    pub open: extern "C" fn(uri: RStr<'_>) -> FfiResult<ROption<u64>>,
    pub close: extern "C" fn(handle: u64),
    pub uri: extern "C" fn(handle: u64) -> RString,
    pub hypervisor_type: extern "C" fn(handle: u64) -> RString,
    pub hypervisor_version: extern "C" fn(handle: u64) -> FfiResult<u64>,
    /// Returns JSON of `Vec<WireSummary>`.
    pub list: extern "C" fn(handle: u64, active: bool, inactive: bool) -> FfiResult<RString>,
    pub lookup: extern "C" fn(handle: u64, key: RStr<'_>) -> FfiResult<RString>,
    pub define_xml: extern "C" fn(handle: u64, xml: RStr<'_>) -> FfiResult<RString>,
    pub undefine: extern "C" fn(handle: u64, key: RStr<'_>) -> FfiResult<()>,
    pub create_xml: extern "C" fn(handle: u64, xml: RStr<'_>) -> FfiResult<RString>,
    pub start: extern "C" fn(handle: u64, key: RStr<'_>) -> FfiResult<RString>,
    pub shutdown: extern "C" fn(handle: u64, key: RStr<'_>) -> FfiResult<()>,
    pub destroy: extern "C" fn(handle: u64, key: RStr<'_>) -> FfiResult<()>,
    pub suspend: extern "C" fn(handle: u64, key: RStr<'_>) -> FfiResult<()>,
    pub resume: extern "C" fn(handle: u64, key: RStr<'_>) -> FfiResult<()>,
    pub info: extern "C" fn(handle: u64, key: RStr<'_>) -> FfiResult<RString>,
    pub xml: extern "C" fn(
        handle: u64,
        key: RStr<'_>,
        inactive: bool,
        secure: bool,
    ) -> FfiResult<RString>,
    pub hostname: extern "C" fn(handle: u64) -> FfiResult<RString>,
    pub capabilities: extern "C" fn(handle: u64) -> FfiResult<RString>,
    pub xml_to_native:
        extern "C" fn(handle: u64, format: RStr<'_>, xml: RStr<'_>) -> FfiResult<RString>,
    pub monitor_command: extern "C" fn(
        handle: u64,
        key: RStr<'_>,
        command: RStr<'_>,
        hmp: bool,
    ) -> FfiResult<RString>,
}

/// The root module: what `_as_root_module_loader` of a plugin returns.
///
/// A prefix type: fields may be appended after `driver` in later versions (older plugins
/// then lack them, which the host can see); nothing before may change.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(panic))]
pub struct PluginMod {
    /// [`ABI_VERSION`] as the plugin was built.
    pub abi_version: u32,
    pub kind: PluginKind,
    /// The security model (`sample`) or the driver name (`Test`).
    pub name: RStr<'static>,
    /// Set for [`PluginKind::Security`].
    pub security: ROption<SecurityTable>,
    /// Set for [`PluginKind::Driver`].
    #[sabi(last_prefix_field)]
    pub driver: ROption<DriverTable>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "oxvirt_plugin";
    const NAME: &'static str = "oxvirt_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// Check a plugin's reported ABI version and kind against its tables; the message says
/// what mismatched.
pub fn check_module(
    abi_version: u32,
    kind: PluginKind,
    has_security: bool,
    has_driver: bool,
) -> Result<(), String> {
    if abi_version != ABI_VERSION {
        return Err(format!(
            "plugin ABI version {abi_version} does not match this oxvirt's ABI version {ABI_VERSION}; \
             rebuild the plugin against oxvirt-plugin-abi with ABI_VERSION {ABI_VERSION}"
        ));
    }
    match kind {
        PluginKind::Security if !has_security => {
            Err("declares a security backend but has no security table".into())
        }
        PluginKind::Driver if !has_driver => {
            Err("declares a hypervisor driver but has no driver table".into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_mismatch_names_both_versions() {
        let e = check_module(ABI_VERSION + 1, PluginKind::Security, true, false).unwrap_err();
        assert!(
            e.contains(&format!(
                "plugin ABI version {} does not match this oxvirt's ABI version {ABI_VERSION}",
                ABI_VERSION + 1
            )),
            "{e}"
        );
        assert!(check_module(ABI_VERSION, PluginKind::Security, true, false).is_ok());
        assert!(check_module(ABI_VERSION, PluginKind::Driver, true, false).is_err());
    }

    #[test]
    fn errors_keep_code_and_domain() {
        let e = Error::no_domain("x");
        let back = FfiError::from(&e).into_error();
        assert_eq!(back, e);
        assert_eq!(code_from_number(9999), ErrorCode::InternalError);
    }
}
