//! `liboxvirt_security_sample.so`: a sample external security backend, model `sample`.
//!
//! It labels nothing and asks for no confinement; it appends one line per hook call
//! (`HOOK VM-NAME`) to the file named by `$OXVIRT_SAMPLE_RECORD` (nothing is recorded
//! when it is unset). Enough to show the loader and the security manager using a plugin:
//! `security_driver = "sample"` and `plugin_dir` in qemu.toml.
//!
//! Test hook: `$OXVIRT_SAMPLE_ABI_VERSION` makes the plugin report that ABI version
//! instead of the one it was built with, so a test can see the host refuse it.

use oxvirt_core::domain::SecLabel;
use oxvirt_core::security::{
    BackendSettings, ChildConfinement, Resource, SecModel, SecurityBackend, VmContext,
};
use oxvirt_core::Result;
use oxvirt_plugin_abi::abi_stable::export_root_module;
use oxvirt_plugin_abi::abi_stable::prefix_type::PrefixTypeTrait;
use oxvirt_plugin_abi::{guest, PluginModRef};
use std::io::Write;

/// The backend: remembers where to record.
struct Sample {
    record: Option<std::path::PathBuf>,
}

impl Sample {
    fn note(&self, hook: &str, vm: Option<&VmContext>) {
        let Some(path) = &self.record else { return };
        let line = match vm {
            Some(vm) => format!("{hook} {}\n", vm.name),
            None => format!("{hook}\n"),
        };
        // Recording is best effort: a hook never fails because of it.
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

impl SecurityBackend for Sample {
    fn model(&self) -> &str {
        "sample"
    }
    fn probe(&self) -> Result<bool> {
        self.note("probe", None);
        Ok(true)
    }
    fn gen_label(&self, vm: &VmContext, _requested: Option<&SecLabel>) -> Result<SecLabel> {
        self.note("gen_label", Some(vm));
        Ok(SecLabel {
            label_type: Some("dynamic".into()),
            model: Some("sample".into()),
            label: Some(format!("sample-{}", vm.uuid)),
            ..Default::default()
        })
    }
    fn reserve_label(&self, vm: &VmContext, _label: &SecLabel) -> Result<()> {
        self.note("reserve_label", Some(vm));
        Ok(())
    }
    fn release_label(&self, vm: &VmContext, _label: &SecLabel) -> Result<()> {
        self.note("release_label", Some(vm));
        Ok(())
    }
    fn set_all_labels(&self, vm: &VmContext, _: &SecLabel, _: &[Resource]) -> Result<()> {
        self.note("set_all_labels", Some(vm));
        Ok(())
    }
    fn restore_all_labels(&self, vm: &VmContext, _: &SecLabel, _: &[Resource]) -> Result<()> {
        self.note("restore_all_labels", Some(vm));
        Ok(())
    }
    fn set_image_label(&self, vm: &VmContext, _: &SecLabel, _: &Resource) -> Result<()> {
        self.note("set_image_label", Some(vm));
        Ok(())
    }
    fn restore_image_label(&self, vm: &VmContext, _: &SecLabel, _: &Resource) -> Result<()> {
        self.note("restore_image_label", Some(vm));
        Ok(())
    }
    fn set_hostdev_label(&self, vm: &VmContext, _: &SecLabel, _: &Resource) -> Result<()> {
        self.note("set_hostdev_label", Some(vm));
        Ok(())
    }
    fn restore_hostdev_label(&self, vm: &VmContext, _: &SecLabel, _: &Resource) -> Result<()> {
        self.note("restore_hostdev_label", Some(vm));
        Ok(())
    }
    fn child_confinement(&self, vm: &VmContext, _: &SecLabel) -> Result<ChildConfinement> {
        self.note("child_confinement", Some(vm));
        Ok(ChildConfinement::default())
    }
    fn secmodel(&self) -> SecModel {
        SecModel {
            model: "sample".into(),
            doi: "0".into(),
            baselabels: Vec::new(),
        }
    }
}

fn create(_settings: &BackendSettings) -> Result<Box<dyn SecurityBackend>> {
    Ok(Box::new(Sample {
        record: std::env::var_os("OXVIRT_SAMPLE_RECORD").map(Into::into),
    }))
}

/// The root module abi_stable's loader asks for.
#[export_root_module]
pub fn root_module() -> PluginModRef {
    let mut m = guest::security_module("sample", create);
    if let Some(v) = std::env::var("OXVIRT_SAMPLE_ABI_VERSION")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        m.abi_version = v;
    }
    m.leak_into_prefix()
}
