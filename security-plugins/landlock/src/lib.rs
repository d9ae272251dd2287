//! The Landlock security backend: each QEMU gets a ruleset of exactly the host paths,
//! TCP ports and IPC its domain needs (`rules.rs`), declared as data in the
//! confinement and applied by the launcher as the last step before exec
//! (`landlock_restrict_self`, after `no_new_privs`, which it sets). Needs no root and no
//! policy on the host, so it confines a rootless `qemu:///embed` too; stacked with
//! `dac` (`security_driver = ["dac", "landlock"]`) or after a primary LSM
//! (`["selinux", "landlock"]`), it only narrows what the others allow.
//!
//! Best effort, as the kernel allows: the ABI this host offers is probed here (`abi.rs`)
//! and named in the label (`abi=N fs net scopes`, shown by `dominfo`, `dumpxml` and
//! `oxvirt confinement`); the launcher handles only the rights that ABI knows.
//!
//! Must not touch: files (it labels nothing) and processes.

mod abi;
mod rules;

pub use abi::{abi_version, level, Level};
pub use rules::vm_rules;

use oxvirt_core::domain::SecLabel;
use oxvirt_core::security::{
    BackendRegistration, BackendSettings, ChildConfinement, Resource, SecurityBackend, VmContext,
};
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};

/// The backend; `device_acl` from qemu.toml.
pub struct LandlockBackend {
    device_acl: Vec<String>,
}

fn sec_err(msg: String) -> Error {
    Error::new(ErrorCode::SecurityError, ErrorDomain::Security, msg)
}

impl SecurityBackend for LandlockBackend {
    fn model(&self) -> &str {
        "landlock"
    }
    fn probe(&self) -> Result<bool> {
        Ok(abi_version().is_some())
    }
    fn gen_label(&self, _vm: &VmContext, requested: Option<&SecLabel>) -> Result<SecLabel> {
        let mut l = requested.cloned().unwrap_or_default();
        l.model = Some("landlock".into());
        l.relabel = Some(false);
        match l.label_type.as_deref().unwrap_or("dynamic") {
            "none" => l.label_type = Some("none".into()),
            "dynamic" => {
                let abi = abi_version().ok_or_else(|| {
                    sec_err(
                        "Landlock is not enabled in this kernel (landlock_create_ruleset \
                         answers ENOSYS/EOPNOTSUPP); boot with lsm=...,landlock or remove \
                         \"landlock\" from security_driver in qemu.toml"
                            .into(),
                    )
                })?;
                l.label_type = Some("dynamic".into());
                l.label = Some(level(abi).describe());
            }
            other => {
                return Err(sec_err(format!(
                    "<seclabel type='{other}' model='landlock'>: a Landlock ruleset is \
                     generated from the domain; use type='dynamic' or type='none'"
                )))
            }
        }
        Ok(l)
    }
    fn set_all_labels(&self, _: &VmContext, _: &SecLabel, _: &[Resource]) -> Result<()> {
        Ok(())
    }
    fn restore_all_labels(&self, _: &VmContext, _: &SecLabel, _: &[Resource]) -> Result<()> {
        Ok(())
    }
    fn child_confinement(&self, vm: &VmContext, label: &SecLabel) -> Result<ChildConfinement> {
        self.child_confinement_for(vm, label, &[])
    }
    fn child_confinement_for(
        &self,
        vm: &VmContext,
        label: &SecLabel,
        resources: &[Resource],
    ) -> Result<ChildConfinement> {
        if label.label_type.as_deref() == Some("none") {
            return Ok(ChildConfinement::default());
        }
        Ok(ChildConfinement {
            no_new_privs: true,
            clear_capabilities: true,
            landlock: vm_rules(vm.domain, resources, &self.device_acl),
            ..Default::default()
        })
    }
}

fn create(settings: &BackendSettings) -> Result<Box<dyn SecurityBackend>> {
    Ok(Box::new(LandlockBackend {
        device_acl: settings.device_acl.clone(),
    }))
}

oxvirt_core::inventory::submit! {
    BackendRegistration { model: "landlock", create }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxvirt_core::domain::{parse_domain_xml, Domain};

    fn ctx(d: &Domain) -> VmContext<'_> {
        VmContext {
            domain: d,
            name: &d.name,
            uuid: d.uuid,
            virt_type: d.virt_type,
            privileged: false,
        }
    }

    #[test]
    fn labels_name_the_level_and_none_means_no_ruleset() {
        let d = parse_domain_xml(
            "<domain type='qemu'><name>v</name><memory>1024</memory><os><type>hvm</type></os></domain>",
        )
        .unwrap();
        let b = LandlockBackend { device_acl: vec![] };
        assert!(b.probe().unwrap(), "this host's kernel has Landlock");
        let l = b.gen_label(&ctx(&d), None).unwrap();
        assert_eq!(l.label_type.as_deref(), Some("dynamic"));
        let text = l.label.clone().unwrap();
        assert!(text.starts_with("abi="), "{text}");
        let c = b.child_confinement_for(&ctx(&d), &l, &[]).unwrap();
        assert!(c.no_new_privs && c.clear_capabilities);
        assert!(!c.landlock.is_empty());
        let none = SecLabel {
            label_type: Some("none".into()),
            ..Default::default()
        };
        let l = b.gen_label(&ctx(&d), Some(&none)).unwrap();
        assert_eq!(
            b.child_confinement_for(&ctx(&d), &l, &[]).unwrap(),
            ChildConfinement::default()
        );
        let st = SecLabel {
            label_type: Some("static".into()),
            ..Default::default()
        };
        let e = b.gen_label(&ctx(&d), Some(&st)).unwrap_err();
        assert!(e.message.contains("type='dynamic'"), "{}", e.message);
    }
}
