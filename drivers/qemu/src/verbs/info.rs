//! Information verbs: list, lookup, dominfo, dumpxml, the security model.

use crate::domains::no_domain;
use crate::driver::QemuDriver;
use crate::process;
use crate::security::SecuritySpec;
use oxvirt_core::domain::{format_domain_xml, parse_domain_xml, Domain, FormatOptions};
use oxvirt_core::driver::{DomainInfo, DomainKey, DomainSummary, ListFilter, XmlFlags};
use oxvirt_core::Result;

pub(crate) fn list(drv: &QemuDriver, filter: ListFilter) -> Result<Vec<DomainSummary>> {
    let mut out = drv.summaries()?;
    out.retain(|s| {
        let active = s.state.is_active();
        (active && filter.active) || (!active && filter.inactive)
    });
    oxvirt_core::driver::sort_for_listing(&mut out);
    Ok(out)
}

pub(crate) fn lookup(drv: &QemuDriver, key: &DomainKey) -> Result<DomainSummary> {
    let e = drv.entry(key)?;
    drv.summary(&e)
}

pub(crate) fn info(drv: &QemuDriver, key: &DomainKey) -> Result<DomainInfo> {
    let e = drv.entry(key)?;
    let summary = drv.summary(&e)?;
    let (dom, cpu_time_ns) = match &e.status {
        Some(st) => (
            parse_domain_xml(&st.domain_xml)?,
            process::cpu_time_ns(st.pid),
        ),
        None => (e.definition.clone().ok_or_else(|| no_domain(key))?, 0),
    };
    Ok(DomainInfo {
        summary,
        os_type: if dom.os.os_type.is_empty() {
            "hvm".into()
        } else {
            dom.os.os_type.clone()
        },
        max_mem_kib: dom.memory_kib,
        memory_kib: dom.current_memory_kib(),
        vcpus: dom.vcpu.current.unwrap_or(dom.vcpu.count),
        cpu_time_ns,
        autostart: false,
        security: drv.security_info(&dom, e.status.is_some())?,
    })
}

pub(crate) fn security_model(drv: &QemuDriver) -> Result<Option<(String, String)>> {
    let mgr = SecuritySpec::from_config(&drv.config, &drv.layout.root).manager()?;
    Ok(mgr.primary().map(|(m, d)| (m.to_string(), d.to_string())))
}

pub(crate) fn xml(drv: &QemuDriver, key: &DomainKey, flags: XmlFlags) -> Result<String> {
    let e = drv.entry(key)?;
    // Passwords only with --security-info (VIR_DOMAIN_XML_SECURE), as libvirt.
    let hide_secrets = |dom: &mut Domain| {
        if !flags.secure {
            for g in &mut dom.devices.graphics {
                g.passwd = None;
            }
        }
    };
    match (&e.status, &e.definition, flags.inactive) {
        (Some(st), _, false) | (Some(st), None, true) => {
            let mut dom = parse_domain_xml(&st.domain_xml)?;
            dom.id = Some(st.id);
            hide_secrets(&mut dom);
            Ok(format_domain_xml(&dom, FormatOptions { live: true }))
        }
        (_, Some(def), _) => {
            let mut dom = def.clone();
            hide_secrets(&mut dom);
            Ok(format_domain_xml(&dom, FormatOptions::default()))
        }
        (None, None, _) => Err(no_domain(key)),
    }
}

impl QemuDriver {
    /// `dominfo`'s security lines: the primary backend's model and DOI, and the running
    /// VM's label from its live XML.
    pub(crate) fn security_info(
        &self,
        dom: &Domain,
        active: bool,
    ) -> Result<Vec<oxvirt_core::driver::SecurityInfo>> {
        let mgr = SecuritySpec::from_config(&self.config, &self.layout.root).manager()?;
        let Some((model, doi)) = mgr.primary() else {
            return Ok(Vec::new());
        };
        let label = if active {
            dom.seclabels
                .iter()
                .find(|l| l.model.as_deref() == Some(model))
                .and_then(|l| l.label.clone())
        } else {
            None
        };
        Ok(vec![oxvirt_core::driver::SecurityInfo {
            model: model.to_string(),
            doi: doi.to_string(),
            label,
        }])
    }
}
