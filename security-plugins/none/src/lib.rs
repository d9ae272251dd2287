//! The `none` security backend (libvirt's "nop" driver): always available, labels
//! nothing, asks for no confinement. Selected by `security_driver = "none"`, and the
//! last resort when probing finds neither SELinux nor AppArmor.

use oxvirt_core::domain::SecLabel;
use oxvirt_core::security::{
    BackendRegistration, BackendSettings, ChildConfinement, Resource, SecurityBackend, VmContext,
};
use oxvirt_core::Result;

/// The backend; it has no state.
pub struct NoneBackend;

impl SecurityBackend for NoneBackend {
    fn model(&self) -> &str {
        "none"
    }
    fn probe(&self) -> Result<bool> {
        Ok(true)
    }
    fn gen_label(&self, _vm: &VmContext, _requested: Option<&SecLabel>) -> Result<SecLabel> {
        Ok(SecLabel {
            label_type: Some("none".into()),
            model: Some("none".into()),
            ..Default::default()
        })
    }
    fn set_all_labels(&self, _: &VmContext, _: &SecLabel, _: &[Resource]) -> Result<()> {
        Ok(())
    }
    fn restore_all_labels(&self, _: &VmContext, _: &SecLabel, _: &[Resource]) -> Result<()> {
        Ok(())
    }
    fn child_confinement(&self, _: &VmContext, _: &SecLabel) -> Result<ChildConfinement> {
        Ok(ChildConfinement::default())
    }
    fn live_seclabel(&self, _label: &SecLabel) -> Option<SecLabel> {
        // libvirt does not format the implicit none label.
        None
    }
}

fn create(_settings: &BackendSettings) -> Result<Box<dyn SecurityBackend>> {
    Ok(Box::new(NoneBackend))
}

oxvirt_core::inventory::submit! {
    BackendRegistration { model: "none", create }
}
