//! The AppArmor sVirt backend (model `apparmor`), libvirt's `security_apparmor.c` in the
//! shape of oxvirt's [`SecurityBackend`]: each VM with a dynamic label gets its own
//! profile `libvirt-UUID`, written and loaded by `oxvirt-aa-helper` when its resources
//! are labelled (start: `-c` with the domain XML, the VM's directories and log) and
//! unloaded and deleted when they are restored (stop, and after a crash through the
//! relabel journal: `-D`); QEMU is exec'd under the profile (returned as data in
//! [`ChildConfinement::apparmor_profile`]; the launcher writes `exec PROFILE` last
//! before exec). Static labels name a loaded profile of the admin's; `type='none'`
//! leaves QEMU unconfined by AppArmor. Stacked with DAC like every backend.
//!
//! Active only when the kernel runs AppArmor and the parser and helper are installed
//! ([`SecurityBackend::probe`], `host.rs`). Built in (registered with `inventory`) and
//! as a plugin (`security-plugins/apparmor/plugin`,
//! `liboxvirt_security_apparmor_plugin.so`).

pub mod helper;
pub mod host;
pub mod labels;

use helper::Helper;
use host::{sec_err, Host};
use labels::MODEL;
use oxvirt_core::domain::SecLabel;
use oxvirt_core::security::{
    BackendRegistration, BackendSettings, ChildConfinement, Resource, ResourceKind, SecModel,
    SecurityBackend, VmContext,
};
use oxvirt_core::{Error, Result};
use std::path::{Path, PathBuf};

/// The AppArmor backend of one driver instance.
pub struct AppArmorBackend {
    settings: BackendSettings,
    host: std::result::Result<Host, Error>,
}

impl AppArmorBackend {
    /// The backend for this host (probed now; [`SecurityBackend::probe`] reports it).
    pub fn new(settings: &BackendSettings) -> AppArmorBackend {
        AppArmorBackend {
            settings: settings.clone(),
            host: Host::probe(),
        }
    }

    fn profile_dir(&self) -> Result<&Path> {
        self.settings
            .apparmor_profile_dir
            .as_deref()
            .ok_or_else(|| {
                sec_err(
                    "the AppArmor backend needs its profile directory (this journal or spec \
                 predates it); stop the VM with the oxvirt that started it"
                        .into(),
                )
            })
    }

    fn helper<'a>(&'a self, binary: &'a Path, label: &'a SecLabel) -> Result<Helper<'a>> {
        Ok(Helper {
            binary,
            profile_dir: self.profile_dir()?,
            profile: label
                .label
                .as_deref()
                .ok_or_else(|| sec_err("the VM's AppArmor label is missing".into()))?,
        })
    }

    /// The helper binary: the probed one, else (a later process restoring after a
    /// crash on a host where probing fails now) wherever it is found.
    fn binary(&self) -> Result<PathBuf> {
        match &self.host {
            Ok(h) => Ok(h.helper.clone()),
            Err(_) => host::find_helper(),
        }
    }

    fn log(&self, vm: &VmContext) -> Option<PathBuf> {
        let dir = self.settings.log_dir.as_ref()?;
        Some(dir.join(format!("{}.log", vm.name)))
    }
}

impl SecurityBackend for AppArmorBackend {
    fn model(&self) -> &str {
        MODEL
    }

    fn probe(&self) -> Result<bool> {
        self.host.as_ref().map(|_| true).map_err(Clone::clone)
    }

    fn gen_label(&self, vm: &VmContext, requested: Option<&SecLabel>) -> Result<SecLabel> {
        let req = requested.cloned().unwrap_or_default();
        labels::gen(vm.uuid, &req, &|name| host::loaded_mode(name).is_some())
    }

    fn set_all_labels(
        &self,
        vm: &VmContext,
        label: &SecLabel,
        resources: &[Resource],
    ) -> Result<()> {
        if !labels::is_managed(label) {
            return Ok(());
        }
        let dirs: Vec<&Path> = resources
            .iter()
            .filter(|r| r.kind == ResourceKind::VmDir)
            .map(|r| r.path.as_path())
            .collect();
        let binary = self.binary()?;
        self.helper(&binary, label)?
            .load(vm, &dirs, self.log(vm).as_deref())
    }

    fn restore_all_labels(
        &self,
        _vm: &VmContext,
        label: &SecLabel,
        _resources: &[Resource],
    ) -> Result<()> {
        if !labels::is_managed(label) {
            return Ok(());
        }
        let binary = self.binary()?;
        self.helper(&binary, label)?.delete()
    }

    fn set_image_label(&self, vm: &VmContext, label: &SecLabel, res: &Resource) -> Result<()> {
        if !labels::is_managed(label) {
            return Ok(());
        }
        let binary = self.binary()?;
        self.helper(&binary, label)?.append(vm, &res.path)
    }

    fn restore_image_label(&self, _: &VmContext, _: &SecLabel, _: &Resource) -> Result<()> {
        // The rule stays until the profile is regenerated or removed (libvirt
        // regenerates from the live XML, which this hook does not carry yet).
        Ok(())
    }

    fn set_hostdev_label(&self, vm: &VmContext, label: &SecLabel, res: &Resource) -> Result<()> {
        self.set_image_label(vm, label, res)
    }

    fn restore_hostdev_label(&self, _: &VmContext, _: &SecLabel, _: &Resource) -> Result<()> {
        Ok(())
    }

    fn child_confinement(&self, _vm: &VmContext, label: &SecLabel) -> Result<ChildConfinement> {
        if label.label_type.as_deref() == Some("none") {
            return Ok(ChildConfinement::default());
        }
        Ok(ChildConfinement {
            apparmor_profile: label.label.clone(),
            ..Default::default()
        })
    }

    fn secmodel(&self) -> SecModel {
        // libvirt reports no base label for AppArmor.
        SecModel {
            model: MODEL.into(),
            doi: "0".into(),
            baselabels: Vec::new(),
        }
    }
}

fn create(settings: &BackendSettings) -> Result<Box<dyn SecurityBackend>> {
    Ok(Box::new(AppArmorBackend::new(settings)))
}

/// The constructor the plugin crate exports.
pub fn create_backend(settings: &BackendSettings) -> Result<Box<dyn SecurityBackend>> {
    create(settings)
}

oxvirt_core::inventory::submit! {
    BackendRegistration { model: "apparmor", create }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxvirt_core::domain::parse_domain_xml;

    fn vm_domain() -> oxvirt_core::domain::Domain {
        parse_domain_xml(
            "<domain type='qemu'><name>a</name><uuid>00000000-0000-0000-0000-000000001234</uuid>\
             <memory>1024</memory><os><type>hvm</type></os></domain>",
        )
        .unwrap()
    }

    #[test]
    fn qemu_is_exec_d_under_the_label_and_none_is_not_confined() {
        let b = AppArmorBackend::new(&BackendSettings::default());
        let dom = vm_domain();
        let vm = VmContext {
            domain: &dom,
            name: &dom.name,
            uuid: dom.uuid,
            virt_type: dom.virt_type,
            privileged: true,
        };
        let l = b.gen_label(&vm, None).unwrap();
        assert_eq!(
            l.label.as_deref(),
            Some("libvirt-00000000-0000-0000-0000-000000001234")
        );
        let c = b.child_confinement(&vm, &l).unwrap();
        assert_eq!(c.apparmor_profile, l.label);
        let none = SecLabel {
            label_type: Some("none".into()),
            ..Default::default()
        };
        let n = b.gen_label(&vm, Some(&none)).unwrap();
        assert_eq!(
            b.child_confinement(&vm, &n).unwrap(),
            ChildConfinement::default()
        );
        assert!(b.secmodel().baselabels.is_empty());
    }

    #[test]
    fn probe_names_what_is_missing() {
        let b = AppArmorBackend::new(&BackendSettings::default());
        if Path::new("/sys/kernel/security/apparmor/profiles").exists() {
            return; // an AppArmor host: the LSM VM tests cover it
        }
        // The build host's kernel has no AppArmor (Landlock and BPF only).
        let e = b.probe().unwrap_err();
        assert!(
            e.message.contains("AppArmor is not active"),
            "{}",
            e.message
        );
    }
}
