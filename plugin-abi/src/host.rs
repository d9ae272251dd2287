//! The host side: core's `SecurityBackend` and `Connection` implemented by calling a
//! plugin's function table. Errors from the plugin keep their libvirt code; a malformed
//! reply is an internal error naming the plugin file.

use crate::abi::{DriverTable, FfiResult, SecurityTable, VmData};
use crate::wire::{from_json, to_json, WireInfo, WireKey, WireSecModel, WireSummary};
use abi_stable::std_types::{RResult, RStr, RString};
use oxvirt_core::domain::{format_domain_xml, FormatOptions, SecLabel};
use oxvirt_core::driver::{Connection, DomainInfo, DomainKey, DomainSummary, ListFilter, XmlFlags};
use oxvirt_core::security::{
    BackendSettings, ChildConfinement, Resource, SecModel, SecurityBackend, VmContext,
};
use oxvirt_core::{Error, Result};
use std::path::{Path, PathBuf};

fn ok<T>(r: FfiResult<T>) -> Result<T> {
    match r {
        RResult::ROk(v) => Ok(v),
        RResult::RErr(e) => Err(e.into_error()),
    }
}

fn vm_data(vm: &VmContext) -> VmData {
    VmData {
        name: vm.name.into(),
        uuid: vm.uuid.to_string().into(),
        virt_type: vm.virt_type.as_str().into(),
        privileged: vm.privileged,
        domain_xml: format_domain_xml(vm.domain, FormatOptions::default()).into(),
    }
}

/// A security backend living in a plugin.
pub struct PluginSecurityBackend {
    table: SecurityTable,
    handle: u64,
    model: String,
    doi: String,
    path: PathBuf,
}

impl PluginSecurityBackend {
    /// Create an instance in the plugin at `path` (for error messages) with `settings`.
    pub fn create(
        table: SecurityTable,
        path: &Path,
        settings: &BackendSettings,
    ) -> Result<PluginSecurityBackend> {
        let handle = ok((table.create)(RStr::from_str(&to_json(settings)?)))?;
        Ok(PluginSecurityBackend {
            model: (table.model)(handle).into_string(),
            doi: (table.doi)(handle).into_string(),
            table,
            handle,
            path: path.to_path_buf(),
        })
    }

    /// The plugin file this backend came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn parse<T: for<'de> serde::Deserialize<'de>>(&self, what: &str, s: RString) -> Result<T> {
        from_json(what, s.as_str()).map_err(|e| {
            Error::internal(format!("security plugin '{}': {}", self.path.display(), e))
        })
    }
}

impl Drop for PluginSecurityBackend {
    fn drop(&mut self) {
        (self.table.destroy)(self.handle)
    }
}

/// The FFI shape shared by the hooks that take a label and resources (or one resource).
type LabelResourcesFn = extern "C" fn(u64, &VmData, RStr<'_>, RStr<'_>) -> FfiResult<()>;

impl PluginSecurityBackend {
    /// Call `f` with the VM, the label and `resources` (each as JSON).
    fn call_with_resources(
        &self,
        f: LabelResourcesFn,
        vm: &VmContext,
        label: &SecLabel,
        resources: &impl serde::Serialize,
    ) -> Result<()> {
        let (l, r) = (to_json(label)?, to_json(resources)?);
        ok(f(
            self.handle,
            &vm_data(vm),
            RStr::from_str(&l),
            RStr::from_str(&r),
        ))
    }
}

impl SecurityBackend for PluginSecurityBackend {
    fn model(&self) -> &str {
        &self.model
    }
    fn doi(&self) -> &str {
        &self.doi
    }
    fn probe(&self) -> Result<bool> {
        ok((self.table.probe)(self.handle))
    }
    fn gen_label(&self, vm: &VmContext, requested: Option<&SecLabel>) -> Result<SecLabel> {
        let req = to_json(&requested)?;
        let out = ok((self.table.gen_label)(
            self.handle,
            &vm_data(vm),
            RStr::from_str(&req),
        ))?;
        self.parse("security label", out)
    }
    fn reserve_label(&self, vm: &VmContext, label: &SecLabel) -> Result<()> {
        let l = to_json(label)?;
        ok((self.table.reserve_label)(
            self.handle,
            &vm_data(vm),
            RStr::from_str(&l),
        ))
    }
    fn release_label(&self, vm: &VmContext, label: &SecLabel) -> Result<()> {
        let l = to_json(label)?;
        ok((self.table.release_label)(
            self.handle,
            &vm_data(vm),
            RStr::from_str(&l),
        ))
    }
    fn set_all_labels(
        &self,
        vm: &VmContext,
        label: &SecLabel,
        resources: &[Resource],
    ) -> Result<()> {
        self.call_with_resources(self.table.set_all_labels, vm, label, &resources)
    }
    fn restore_all_labels(
        &self,
        vm: &VmContext,
        label: &SecLabel,
        resources: &[Resource],
    ) -> Result<()> {
        self.call_with_resources(self.table.restore_all_labels, vm, label, &resources)
    }
    fn set_image_label(&self, vm: &VmContext, label: &SecLabel, res: &Resource) -> Result<()> {
        self.call_with_resources(self.table.set_image_label, vm, label, res)
    }
    fn restore_image_label(&self, vm: &VmContext, label: &SecLabel, res: &Resource) -> Result<()> {
        self.call_with_resources(self.table.restore_image_label, vm, label, res)
    }
    fn set_hostdev_label(&self, vm: &VmContext, label: &SecLabel, res: &Resource) -> Result<()> {
        self.call_with_resources(self.table.set_hostdev_label, vm, label, res)
    }
    fn restore_hostdev_label(
        &self,
        vm: &VmContext,
        label: &SecLabel,
        res: &Resource,
    ) -> Result<()> {
        self.call_with_resources(self.table.restore_hostdev_label, vm, label, res)
    }
    fn child_confinement(&self, vm: &VmContext, label: &SecLabel) -> Result<ChildConfinement> {
        let l = to_json(label)?;
        let out = ok((self.table.child_confinement)(
            self.handle,
            &vm_data(vm),
            RStr::from_str(&l),
        ))?;
        self.parse("child confinement", out)
    }
    fn secmodel(&self) -> SecModel {
        ok((self.table.secmodel)(self.handle))
            .and_then(|s| self.parse::<WireSecModel>("secmodel", s))
            .map(SecModel::from)
            .unwrap_or_else(|_| SecModel {
                model: self.model.clone(),
                doi: self.doi.clone(),
                baselabels: Vec::new(),
            })
    }
    fn live_seclabel(&self, label: &SecLabel) -> Option<SecLabel> {
        let l = to_json(label).ok()?;
        ok((self.table.live_seclabel)(self.handle, RStr::from_str(&l)))
            .and_then(|s| self.parse::<Option<SecLabel>>("live seclabel", s))
            .unwrap_or_else(|_| Some(label.clone()))
    }
}

/// A connection served by a driver plugin.
pub struct PluginConnection {
    table: DriverTable,
    handle: u64,
    hypervisor_type: &'static str,
    path: PathBuf,
}

impl PluginConnection {
    /// Ask the driver plugin at `path` to open `uri`; `Ok(None)` if it is not its URI.
    pub fn open(table: DriverTable, path: &Path, uri: &str) -> Result<Option<PluginConnection>> {
        let Some(handle) = ok((table.open)(RStr::from_str(uri)))?.into_option() else {
            return Ok(None);
        };
        let ty = (table.hypervisor_type)(handle).into_string();
        Ok(Some(PluginConnection {
            table,
            handle,
            // `Connection::hypervisor_type` is `&'static str`: one small leak per
            // connection opened through a plugin.
            hypervisor_type: Box::leak(ty.into_boxed_str()),
            path: path.to_path_buf(),
        }))
    }

    fn parse<T: for<'de> serde::Deserialize<'de>>(&self, what: &str, s: RString) -> Result<T> {
        from_json(what, s.as_str())
            .map_err(|e| Error::internal(format!("driver plugin '{}': {}", self.path.display(), e)))
    }

    fn summary(&self, r: FfiResult<RString>) -> Result<DomainSummary> {
        Ok(self.parse::<WireSummary>("domain summary", ok(r)?)?.into())
    }
}

fn key(k: &DomainKey) -> Result<String> {
    to_json(&WireKey::from(k))
}

impl Drop for PluginConnection {
    fn drop(&mut self) {
        (self.table.close)(self.handle)
    }
}

impl Connection for PluginConnection {
    fn uri(&self) -> String {
        (self.table.uri)(self.handle).into_string()
    }
    fn hypervisor_type(&self) -> &'static str {
        self.hypervisor_type
    }
    fn hypervisor_version(&self) -> Result<u64> {
        ok((self.table.hypervisor_version)(self.handle))
    }
    fn list(&self, filter: ListFilter) -> Result<Vec<DomainSummary>> {
        let s = ok((self.table.list)(
            self.handle,
            filter.active,
            filter.inactive,
        ))?;
        let rows: Vec<WireSummary> = self.parse("domain list", s)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
    fn lookup(&self, k: &DomainKey) -> Result<DomainSummary> {
        self.summary((self.table.lookup)(self.handle, RStr::from_str(&key(k)?)))
    }
    fn define_xml(&self, xml: &str) -> Result<DomainSummary> {
        self.summary((self.table.define_xml)(self.handle, RStr::from_str(xml)))
    }
    fn undefine(&self, k: &DomainKey) -> Result<()> {
        ok((self.table.undefine)(self.handle, RStr::from_str(&key(k)?)))
    }
    fn create_xml(&self, xml: &str) -> Result<DomainSummary> {
        self.summary((self.table.create_xml)(self.handle, RStr::from_str(xml)))
    }
    fn start(&self, k: &DomainKey) -> Result<DomainSummary> {
        self.summary((self.table.start)(self.handle, RStr::from_str(&key(k)?)))
    }
    fn shutdown(&self, k: &DomainKey) -> Result<()> {
        ok((self.table.shutdown)(self.handle, RStr::from_str(&key(k)?)))
    }
    fn destroy(&self, k: &DomainKey) -> Result<()> {
        ok((self.table.destroy)(self.handle, RStr::from_str(&key(k)?)))
    }
    fn suspend(&self, k: &DomainKey) -> Result<()> {
        ok((self.table.suspend)(self.handle, RStr::from_str(&key(k)?)))
    }
    fn resume(&self, k: &DomainKey) -> Result<()> {
        ok((self.table.resume)(self.handle, RStr::from_str(&key(k)?)))
    }
    fn info(&self, k: &DomainKey) -> Result<DomainInfo> {
        let s = ok((self.table.info)(self.handle, RStr::from_str(&key(k)?)))?;
        Ok(self.parse::<WireInfo>("domain info", s)?.into())
    }
    fn xml(&self, k: &DomainKey, flags: XmlFlags) -> Result<String> {
        ok((self.table.xml)(
            self.handle,
            RStr::from_str(&key(k)?),
            flags.inactive,
            flags.secure,
        ))
        .map(RString::into_string)
    }
    fn hostname(&self) -> Result<String> {
        ok((self.table.hostname)(self.handle)).map(RString::into_string)
    }
    fn capabilities(&self) -> Result<String> {
        ok((self.table.capabilities)(self.handle)).map(RString::into_string)
    }
    fn xml_to_native(&self, format: &str, xml: &str) -> Result<String> {
        ok((self.table.xml_to_native)(
            self.handle,
            RStr::from_str(format),
            RStr::from_str(xml),
        ))
        .map(RString::into_string)
    }
    fn monitor_command(&self, k: &DomainKey, command: &str, hmp: bool) -> Result<String> {
        ok((self.table.monitor_command)(
            self.handle,
            RStr::from_str(&key(k)?),
            RStr::from_str(command),
            hmp,
        ))
        .map(RString::into_string)
    }
}
