//! The security manager: the configured backends stacked in order (primary first, DAC
//! last for a privileged driver), as libvirt's stack driver. Set hooks roll back what
//! earlier backends did when a later one fails; restore hooks run every backend and
//! report the first failure.

use super::{
    BackendSettings, ChildConfinement, Confinement, Resource, SecModel, SecurityBackend, VmContext,
};
use crate::domain::SecLabel;
use crate::error::{Error, ErrorCode, ErrorDomain, Result};

/// How the stack was asked for (`security_driver` in qemu.toml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Unset: probe selinux, apparmor, none in order.
    Probe,
    /// Named backends; the first is the primary.
    Named(Vec<String>),
}

/// Finds a backend by model name: built-ins first, then plugins.
pub type BackendLookup<'a> =
    dyn Fn(&str, &BackendSettings) -> Option<Result<Box<dyn SecurityBackend>>> + 'a;

fn sec_error(msg: String) -> Error {
    Error::new(ErrorCode::SecurityError, ErrorDomain::Security, msg)
}

/// The stacked backends of one driver instance.
pub struct SecurityManager {
    backends: Vec<Box<dyn SecurityBackend>>,
    default_confined: bool,
    require_confined: bool,
}

impl SecurityManager {
    /// Build the stack: the selection, then `dac` when `settings.privileged` (unless it
    /// was named already).
    pub fn new(
        selection: &Selection,
        settings: &BackendSettings,
        default_confined: bool,
        require_confined: bool,
        lookup: &BackendLookup<'_>,
    ) -> Result<SecurityManager> {
        let create = |name: &str| -> Result<Box<dyn SecurityBackend>> {
            lookup(name, settings).unwrap_or_else(|| {
                Err(sec_error(format!(
                    "Security driver '{name}' not found: it is neither built in nor a plugin in plugin_dir; \
                     check security_driver in qemu.toml"
                )))
            })
        };
        let mut backends: Vec<Box<dyn SecurityBackend>> = Vec::new();
        match selection {
            Selection::Probe => {
                for name in ["selinux", "apparmor", "none"] {
                    if let Some(Ok(b)) = lookup(name, settings) {
                        if b.probe().unwrap_or(false) {
                            backends.push(b);
                            break;
                        }
                    }
                }
            }
            Selection::Named(names) => {
                for name in names {
                    let b = create(name)?;
                    if !b.probe()? {
                        return Err(sec_error(format!(
                            "Security driver '{name}' not enabled on this host; \
                             remove it from security_driver in qemu.toml"
                        )));
                    }
                    backends.push(b);
                }
            }
        }
        if require_confined && backends.iter().all(|b| b.model() == "none") {
            return Err(sec_error(
                "Security driver \"none\" cannot create confined guests \
                 (security_require_confined is set in qemu.toml)"
                    .into(),
            ));
        }
        if settings.privileged && !backends.iter().any(|b| b.model() == "dac") {
            backends.push(create("dac")?);
        }
        Ok(SecurityManager {
            backends,
            default_confined,
            require_confined,
        })
    }

    /// The models in stack order.
    pub fn models(&self) -> Vec<String> {
        self.backends
            .iter()
            .map(|b| b.model().to_string())
            .collect()
    }

    /// One `<secmodel>` per backend, in stack order.
    pub fn secmodels(&self) -> Vec<SecModel> {
        self.backends.iter().map(|b| b.secmodel()).collect()
    }

    /// The primary backend's model and DOI (`virNodeGetSecurityModel`).
    pub fn primary(&self) -> Option<(&str, &str)> {
        self.backends.first().map(|b| (b.model(), b.doi()))
    }

    /// Generate one label per backend from the domain's `<seclabel>` elements. A backend
    /// without a `<seclabel>` gets an implicit dynamic one when `default_confined`.
    pub fn gen_labels(&self, vm: &VmContext) -> Result<Vec<SecLabel>> {
        let requested = &vm.domain.seclabels;
        for s in requested {
            if let Some(m) = &s.model {
                if m != "none" && !self.backends.iter().any(|b| b.model() == m) {
                    return Err(sec_error(format!(
                        "Security driver model '{m}' is not available (active: {}); \
                         fix <seclabel model='{m}'> or security_driver in qemu.toml",
                        self.models().join(", ")
                    )));
                }
            }
        }
        let single_without_model = requested.len() == 1 && requested[0].model.is_none();
        let mut out = Vec::new();
        for (i, b) in self.backends.iter().enumerate() {
            let mine = requested
                .iter()
                .find(|s| s.model.as_deref() == Some(b.model()))
                .or_else(|| (single_without_model && i == 0).then(|| &requested[0]));
            let mut req = mine.cloned();
            if req.is_none() {
                req = Some(SecLabel {
                    label_type: Some(
                        if self.default_confined {
                            "dynamic"
                        } else {
                            "none"
                        }
                        .into(),
                    ),
                    model: Some(b.model().to_string()),
                    ..Default::default()
                });
            }
            let req = req.unwrap_or_default();
            if req.label_type.as_deref() == Some("none")
                && self.require_confined
                && b.model() != "dac"
            {
                return Err(sec_error(
                    "Unconfined guests are not allowed on this host (security_require_confined)"
                        .into(),
                ));
            }
            let mut label = b.gen_label(vm, Some(&req))?;
            label.model = Some(b.model().to_string());
            out.push(label);
        }
        Ok(out)
    }

    fn label_for<'l>(&self, labels: &'l [SecLabel], model: &str) -> Result<&'l SecLabel> {
        labels
            .iter()
            .find(|l| l.model.as_deref() == Some(model))
            .ok_or_else(|| sec_error(format!("no security label for model '{model}'")))
    }

    /// Re-register labels of a running VM (reconnect).
    pub fn reserve_labels(&self, vm: &VmContext, labels: &[SecLabel]) -> Result<()> {
        for b in &self.backends {
            b.reserve_label(vm, self.label_for(labels, b.model())?)?;
        }
        Ok(())
    }

    /// Release every backend's label; reports the first failure.
    pub fn release_labels(&self, vm: &VmContext, labels: &[SecLabel]) -> Result<()> {
        let mut first = None;
        for b in &self.backends {
            if let Ok(l) = self.label_for(labels, b.model()) {
                if let Err(e) = b.release_label(vm, l) {
                    first.get_or_insert(e);
                }
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Label every resource with every backend; on failure, roll back in reverse.
    pub fn set_all_labels(
        &self,
        vm: &VmContext,
        labels: &[SecLabel],
        resources: &[Resource],
    ) -> Result<()> {
        for (i, b) in self.backends.iter().enumerate() {
            let label = self.label_for(labels, b.model())?;
            if let Err(e) = b.set_all_labels(vm, label, resources) {
                for prev in self.backends[..i].iter().rev() {
                    if let Ok(l) = self.label_for(labels, prev.model()) {
                        let _ = prev.restore_all_labels(vm, l, resources);
                    }
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Restore every resource with every backend (reverse order); first failure reported.
    pub fn restore_all_labels(
        &self,
        vm: &VmContext,
        labels: &[SecLabel],
        resources: &[Resource],
    ) -> Result<()> {
        let mut first = None;
        for b in self.backends.iter().rev() {
            if let Ok(l) = self.label_for(labels, b.model()) {
                if let Err(e) = b.restore_all_labels(vm, l, resources) {
                    first.get_or_insert(e);
                }
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// The merged confinement of every backend, primary first, for a VM touching
    /// `resources`.
    pub fn child_confinement(
        &self,
        vm: &VmContext,
        labels: &[SecLabel],
        resources: &[Resource],
    ) -> Result<ChildConfinement> {
        let mut c = ChildConfinement::default();
        for b in &self.backends {
            let label = self.label_for(labels, b.model())?;
            c.merge(b.child_confinement_for(vm, label, resources)?);
        }
        Ok(c)
    }

    /// The stack's part of the confinement value (identity, capabilities,
    /// `no_new_privs`, labels, Landlock); the driver adds its own fields.
    pub fn confinement(
        &self,
        vm: &VmContext,
        labels: &[SecLabel],
        resources: &[Resource],
    ) -> Result<Confinement> {
        Confinement::from_backends(self.child_confinement(vm, labels, resources)?)
    }

    /// The `<seclabel>` elements for the live XML.
    pub fn live_seclabels(&self, labels: &[SecLabel]) -> Vec<SecLabel> {
        let mut out = Vec::new();
        for b in &self.backends {
            if let Ok(l) = self.label_for(labels, b.model()) {
                if let Some(s) = b.live_seclabel(l) {
                    out.push(s);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{parse_domain_xml, Domain};
    use crate::security::{Resource, ResourceKind};
    use std::sync::{Arc, Mutex};

    /// A backend that records its calls and can be told to fail `set_all_labels`.
    struct Fake {
        model: &'static str,
        probe: bool,
        fail_set: bool,
        log: Arc<Mutex<Vec<String>>>,
    }

    impl SecurityBackend for Fake {
        fn model(&self) -> &str {
            self.model
        }
        fn probe(&self) -> Result<bool> {
            Ok(self.probe)
        }
        fn gen_label(&self, _: &VmContext, r: Option<&SecLabel>) -> Result<SecLabel> {
            self.log.lock().unwrap().push(format!("{}:gen", self.model));
            let mut l = r.cloned().unwrap_or_default();
            l.label = Some(format!("{}-label", self.model));
            Ok(l)
        }
        fn set_all_labels(&self, _: &VmContext, _: &SecLabel, _: &[Resource]) -> Result<()> {
            self.log.lock().unwrap().push(format!("{}:set", self.model));
            if self.fail_set {
                return Err(sec_error(format!("{} refuses", self.model)));
            }
            Ok(())
        }
        fn restore_all_labels(&self, _: &VmContext, _: &SecLabel, _: &[Resource]) -> Result<()> {
            self.log
                .lock()
                .unwrap()
                .push(format!("{}:restore", self.model));
            Ok(())
        }
        fn child_confinement(&self, _: &VmContext, _: &SecLabel) -> Result<ChildConfinement> {
            Ok(ChildConfinement {
                uid: (self.model == "dac").then_some(107),
                exec_label: (self.model == "selinux").then(|| "svirt_t".into()),
                ..Default::default()
            })
        }
    }

    fn lookup_with(
        log: Arc<Mutex<Vec<String>>>,
        failing: &'static str,
        disabled: &'static str,
    ) -> impl Fn(&str, &BackendSettings) -> Option<Result<Box<dyn SecurityBackend>>> {
        move |name, _| {
            let model: &'static str = match name {
                "selinux" => "selinux",
                "apparmor" => "apparmor",
                "dac" => "dac",
                "none" => "none",
                _ => return None,
            };
            Some(Ok(Box::new(Fake {
                model,
                probe: model != disabled,
                fail_set: model == failing,
                log: log.clone(),
            })))
        }
    }

    fn domain(extra: &str) -> Domain {
        parse_domain_xml(&format!(
            "<domain type='qemu'><name>vm</name><memory>1024</memory><os><type>hvm</type></os>{extra}</domain>"
        ))
        .unwrap()
    }

    fn ctx(d: &Domain) -> VmContext<'_> {
        VmContext {
            domain: d,
            name: &d.name,
            uuid: d.uuid,
            virt_type: d.virt_type,
            privileged: true,
        }
    }

    fn settings(privileged: bool) -> BackendSettings {
        BackendSettings {
            privileged,
            ..Default::default()
        }
    }

    #[test]
    fn probing_picks_the_first_enabled_and_dac_is_stacked_when_privileged() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let m = SecurityManager::new(
            &Selection::Probe,
            &settings(true),
            true,
            false,
            &lookup_with(log.clone(), "", "selinux"),
        )
        .unwrap();
        assert_eq!(m.models(), ["apparmor", "dac"]);
        let m = SecurityManager::new(
            &Selection::Probe,
            &settings(false),
            true,
            false,
            &lookup_with(log, "", ""),
        )
        .unwrap();
        assert_eq!(
            m.models(),
            ["selinux"],
            "no DAC for an unprivileged (session) driver"
        );
    }

    #[test]
    fn named_backends_must_exist_and_be_enabled() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = lookup_with(log, "", "apparmor");
        let e = SecurityManager::new(
            &Selection::Named(vec!["bogus".into()]),
            &settings(true),
            true,
            false,
            &l,
        )
        .err()
        .unwrap();
        assert!(e.message.contains("'bogus' not found"), "{}", e.message);
        let e = SecurityManager::new(
            &Selection::Named(vec!["apparmor".into()]),
            &settings(true),
            true,
            false,
            &l,
        )
        .err()
        .unwrap();
        assert!(e.message.contains("not enabled"), "{}", e.message);
        let e = SecurityManager::new(
            &Selection::Named(vec!["none".into()]),
            &settings(true),
            true,
            true,
            &l,
        )
        .err()
        .unwrap();
        assert!(
            e.message.contains("cannot create confined guests"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_failing_backend_rolls_back_the_earlier_ones() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let m = SecurityManager::new(
            &Selection::Named(vec!["selinux".into()]),
            &settings(true),
            true,
            false,
            &lookup_with(log.clone(), "dac", ""),
        )
        .unwrap();
        let d = domain("");
        let labels = m.gen_labels(&ctx(&d)).unwrap();
        assert_eq!(labels.len(), 2);
        let res = [Resource {
            path: "/x".into(),
            kind: ResourceKind::BootFile,
            relabel: true,
            label: None,
        }];
        assert!(m.set_all_labels(&ctx(&d), &labels, &res).is_err());
        let calls = log.lock().unwrap().clone();
        assert_eq!(
            calls,
            [
                "selinux:gen",
                "dac:gen",
                "selinux:set",
                "dac:set",
                "selinux:restore"
            ]
        );
    }

    #[test]
    fn confinement_is_merged_and_labels_follow_the_xml() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let m = SecurityManager::new(
            &Selection::Named(vec!["selinux".into()]),
            &settings(true),
            true,
            false,
            &lookup_with(log, "", ""),
        )
        .unwrap();
        let d = domain("<seclabel type='static' model='selinux' relabel='no'><label>system_u:system_r:svirt_t:s0:c1,c2</label></seclabel>");
        let labels = m.gen_labels(&ctx(&d)).unwrap();
        assert_eq!(labels[0].label_type.as_deref(), Some("static"));
        assert_eq!(
            labels[1].label_type.as_deref(),
            Some("dynamic"),
            "implicit dynamic DAC label (default_confined)"
        );
        let c = m.child_confinement(&ctx(&d), &labels, &[]).unwrap();
        assert_eq!(c.uid, Some(107));
        assert_eq!(c.exec_label.as_deref(), Some("svirt_t"));
        // The fake DAC gives a uid without a gid: the value refuses half an identity.
        let e = m.confinement(&ctx(&d), &labels, &[]).unwrap_err();
        assert!(e.message.contains("incomplete identity"), "{}", e.message);
        let d = domain("<seclabel type='dynamic' model='apparmor'/>");
        let e = m.gen_labels(&ctx(&d)).unwrap_err();
        assert!(
            e.message.contains("'apparmor' is not available"),
            "{}",
            e.message
        );
    }

    #[test]
    fn require_confined_refuses_unconfined_guests() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let m = SecurityManager::new(
            &Selection::Named(vec!["selinux".into()]),
            &settings(true),
            true,
            true,
            &lookup_with(log, "", ""),
        )
        .unwrap();
        let d = domain("<seclabel type='none' model='selinux'/>");
        let e = m.gen_labels(&ctx(&d)).unwrap_err();
        assert!(
            e.message.contains("Unconfined guests are not allowed"),
            "{}",
            e.message
        );
    }
}
