//! The QEMU driver's [`Connection`] and its registration for `qemu:///embed?root=DIR`.
//! This file only assembles: each trait method is one call into the verb family
//! (`verbs/`) that owns it; the driver instance is `driver.rs`, its domain table
//! `domains.rs`.

use crate::driver::QemuDriver;
use crate::verbs::{confinement, events, host, info, lifecycle, monitor, native_formats};
use oxvirt_core::driver::{
    Connection, DomainChange, DomainInfo, DomainKey, DomainSummary, ListFilter, XmlFlags,
};
use oxvirt_core::security::report::ConfinementReport;
use oxvirt_core::{Error, Result};
use std::path::Path;

pub use crate::verbs::host::parse_qemu_version;
pub use crate::verbs::lifecycle::supervisor_path;

impl Connection for QemuDriver {
    fn uri(&self) -> String {
        self.uri.clone()
    }
    fn hypervisor_type(&self) -> &'static str {
        "QEMU"
    }
    fn hypervisor_version(&self) -> Result<u64> {
        host::hypervisor_version(self)
    }
    fn list(&self, filter: ListFilter) -> Result<Vec<DomainSummary>> {
        info::list(self, filter)
    }
    fn lookup(&self, key: &DomainKey) -> Result<DomainSummary> {
        info::lookup(self, key)
    }
    fn define_xml(&self, xml: &str) -> Result<DomainSummary> {
        lifecycle::define_xml(self, xml)
    }
    fn undefine(&self, key: &DomainKey) -> Result<()> {
        lifecycle::undefine(self, key)
    }
    fn create_xml(&self, xml: &str) -> Result<DomainSummary> {
        lifecycle::create_xml(self, xml)
    }
    fn start(&self, key: &DomainKey) -> Result<DomainSummary> {
        lifecycle::start(self, key)
    }
    fn shutdown(&self, key: &DomainKey) -> Result<()> {
        lifecycle::shutdown(self, key)
    }
    fn destroy(&self, key: &DomainKey) -> Result<()> {
        lifecycle::destroy(self, key)
    }
    fn suspend(&self, key: &DomainKey) -> Result<()> {
        lifecycle::suspend(self, key)
    }
    fn resume(&self, key: &DomainKey) -> Result<()> {
        lifecycle::resume(self, key)
    }
    fn info(&self, key: &DomainKey) -> Result<DomainInfo> {
        info::info(self, key)
    }
    fn xml(&self, key: &DomainKey, flags: XmlFlags) -> Result<String> {
        info::xml(self, key, flags)
    }
    fn capabilities(&self) -> Result<String> {
        host::capabilities(self)
    }
    fn domain_capabilities(
        &self,
        emulator: Option<&str>,
        arch: Option<&str>,
        machine: Option<&str>,
        virttype: Option<&str>,
    ) -> Result<String> {
        host::domain_capabilities(self, emulator, arch, machine, virttype)
    }
    fn xml_to_native(&self, format: &str, xml: &str) -> Result<String> {
        native_formats::xml_to_native(self, format, xml)
    }
    fn xml_from_native(&self, format: &str, native: &str) -> Result<String> {
        native_formats::xml_from_native(self, format, native)
    }
    fn monitor_command(&self, key: &DomainKey, command: &str, hmp: bool) -> Result<String> {
        monitor::monitor_command(self, key, command, hmp)
    }
    fn security_model(&self) -> Result<Option<(String, String)>> {
        info::security_model(self)
    }
    fn changes(&self) -> Option<Vec<DomainChange>> {
        events::changes(self)
    }
    fn wait_changes(&self, timeout: std::time::Duration) {
        events::wait_changes(self, timeout)
    }
    fn confinement_report(&self, key: &DomainKey) -> Result<ConfinementReport> {
        confinement::confinement_report(self, key)
    }
}

/// `qemu:///embed?root=DIR` opens the embedded driver; other `qemu` URIs need the daemon.
fn open_uri(uri: &oxvirt_core::uri::ConnectUri) -> Result<Option<Box<dyn Connection>>> {
    if uri.driver != "qemu" {
        return Ok(None);
    }
    if uri.transport.is_none() && uri.host.is_none() && uri.path == "embed" {
        let root = uri.param("root").ok_or_else(|| {
            Error::invalid_arg(format!(
                "URI '{}' has no root; use qemu:///embed?root=/absolute/dir",
                uri.original
            ))
        })?;
        return Ok(Some(Box::new(QemuDriver::open_embed(Path::new(root))?)));
    }
    // qemu:///system, qemu:///session and qemu+unix://... go through oxvirtd: the
    // remote driver (oxvirt-driver-remote) answers them.
    Ok(None)
}

oxvirt_core::inventory::submit! {
    oxvirt_core::registry::DriverRegistration { name: "QEMU", open: open_uri }
}
