//! The SELinux sVirt backend (model `selinux`), libvirt's `security_selinux.c` in the
//! shape of oxvirt's [`SecurityBackend`]: each VM gets a unique MCS category pair
//! (`mcs.rs`: reservations in a file under the root, under a lock), QEMU is exec'd in
//! the domain label (returned as data in [`ChildConfinement::exec_label`]; the core's
//! launcher writes it last before exec), and every resource QEMU opens is labelled
//! (`labels.rs` says which label each gets; `files.rs` sets it, remembering the original
//! in `trusted.libvirt.security.selinux` with a refcount). The policy's base contexts
//! come from `policy.rs`; context strings and MCS arithmetic from `context.rs`.
//!
//! Active only when the kernel has SELinux enabled ([`SecurityBackend::probe`]).
//! Built in (registered with `inventory`) and as a plugin
//! (`security-plugins/selinux/plugin`, `liboxvirt_security_selinux_plugin.so`).

pub mod context;
pub mod files;
pub mod labels;
pub mod mcs;
pub mod policy;

use context::Context;
use files::{Labeller, MODEL};
use labels::Host;
use mcs::Reservations;
use oxvirt_core::domain::{SecLabel, VirtType};
use oxvirt_core::security::{
    BackendRegistration, BackendSettings, ChildConfinement, Resource, ResourceKind, SecModel,
    SecurityBackend, VmContext,
};
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use policy::Policy;

fn sec_err(msg: String) -> Error {
    Error::new(ErrorCode::SecurityError, ErrorDomain::Security, msg)
}

impl Host {
    /// This host's SELinux: enabled in the kernel, its policy's sVirt contexts, this
    /// process's context. An error says which is missing.
    pub fn probe() -> Result<Host> {
        if selinux::kernel_support() == selinux::KernelSupport::Unsupported {
            return Err(sec_err(
                "Security driver 'selinux' not enabled on this host: SELinux is disabled \
                 (the kernel has no SELinux, or it is off: no selinuxfs at /sys/fs/selinux); \
                 remove \"selinux\" from security_driver in qemu.toml, or boot with SELinux"
                    .into(),
            ));
        }
        let policy = Policy::load(&Policy::system_root()?)?;
        let ours = selinux::SecurityContext::current(true)
            .map_err(|e| sec_err(format!("cannot read this process's SELinux context: {e}")))?;
        let ours = Context::parse(&String::from_utf8_lossy(ours.as_bytes()))?;
        Ok(Host {
            policy,
            ours,
            enforcing: selinux::current_mode() == selinux::SELinuxMode::Enforcing,
        })
    }
}

/// A number below `n` from the kernel's random source.
fn random_below(n: u32) -> u32 {
    let mut b = [0u8; 4];
    // getrandom(2) blocks only before the pool is initialised, never after boot.
    // SAFETY: getrandom into a 4-byte buffer on this stack frame.
    let got = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if got != 4 {
        // Not reachable on Linux ≥ 3.17 after boot; a fixed draw only slows the pick.
        return 0;
    }
    u32::from_le_bytes(b) % n.max(1)
}

/// The SELinux backend of one driver instance.
pub struct SelinuxBackend {
    settings: BackendSettings,
    host: std::result::Result<Host, Error>,
}

impl SelinuxBackend {
    /// The backend for this host (probed now; [`SecurityBackend::probe`] reports it).
    pub fn new(settings: &BackendSettings) -> SelinuxBackend {
        SelinuxBackend {
            settings: settings.clone(),
            host: Host::probe(),
        }
    }

    /// The backend for a given host (its policy and managing context): label
    /// generation is the same code, tested without an SELinux kernel.
    pub fn with_host(settings: &BackendSettings, host: Host) -> SelinuxBackend {
        SelinuxBackend {
            settings: settings.clone(),
            host: Ok(host),
        }
    }

    fn host(&self) -> Result<&Host> {
        self.host.as_ref().map_err(Clone::clone)
    }

    fn reservations(&self) -> Result<Reservations> {
        match &self.settings.state_dir {
            Some(d) => Ok(Reservations::new(d)),
            None => Err(sec_err(
                "the SELinux backend needs the driver's state directory for its MCS \
                 reservations (this journal or spec predates it); stop the VM with the \
                 oxvirt that started it"
                    .into(),
            )),
        }
    }

    fn labeller(&self) -> Result<Labeller> {
        Ok(Labeller {
            remember: self.settings.remember_owner,
            enforcing: self.host()?.enforcing,
        })
    }

    fn is_dynamic(label: &SecLabel) -> bool {
        label.label_type.as_deref() == Some("dynamic")
    }

    /// The VM's level (`s0:cA,cB`) from its process label.
    fn level(label: &SecLabel) -> Result<String> {
        let l = label
            .label
            .as_deref()
            .ok_or_else(|| sec_err("the VM's SELinux label is missing".into()))?;
        Context::parse(l)?
            .range
            .ok_or_else(|| sec_err(format!("the SELinux label '{l}' has no MCS level")))
    }
}

impl SecurityBackend for SelinuxBackend {
    fn model(&self) -> &str {
        MODEL
    }

    fn probe(&self) -> Result<bool> {
        self.host().map(|_| true)
    }

    fn gen_label(&self, vm: &VmContext, requested: Option<&SecLabel>) -> Result<SecLabel> {
        let req = requested.cloned().unwrap_or_default();
        let host = self.host()?;
        match labels::check_request(&req)? {
            "none" => Ok(SecLabel {
                label_type: Some("none".into()),
                model: Some(MODEL.into()),
                relabel: Some(false),
                ..Default::default()
            }),
            "static" => labels::fixed(host, &req),
            _ => {
                let range = labels::category_range(host)?;
                let level = self
                    .reservations()?
                    .allocate(vm.uuid, vm.name, |taken| range.pick(random_below, taken))?;
                labels::dynamic(host, vm.virt_type, &req, &level)
            }
        }
    }

    fn reserve_label(&self, vm: &VmContext, label: &SecLabel) -> Result<()> {
        if !Self::is_dynamic(label) {
            return Ok(());
        }
        self.reservations()?
            .reserve(vm.uuid, vm.name, &Self::level(label)?)
    }

    fn release_label(&self, vm: &VmContext, label: &SecLabel) -> Result<()> {
        if !Self::is_dynamic(label) {
            return Ok(());
        }
        self.reservations()?.release(vm.uuid)
    }

    fn set_all_labels(
        &self,
        _vm: &VmContext,
        label: &SecLabel,
        resources: &[Resource],
    ) -> Result<()> {
        let host = self.host()?;
        let Some(dirs) = labels::dir_label(host, label)? else {
            return Ok(()); // type='none': nothing is labelled
        };
        let labeller = self.labeller()?;
        // The VM's own directories whatever the relabel setting: QEMU creates its QMP
        // socket there, and nobody can label them before oxvirt creates them.
        for res in resources.iter().filter(|r| r.kind == ResourceKind::VmDir) {
            labeller.set_label(&res.path, &dirs, false)?;
        }
        if label.relabel != Some(true) {
            return Ok(());
        }
        let image = label.imagelabel.clone().unwrap_or(dirs);
        let mut done: Vec<&Resource> = Vec::new();
        for res in resources
            .iter()
            .filter(|r| r.relabel && r.kind != ResourceKind::VmDir)
        {
            let want = labels::resource_label(&host.policy, &image, res);
            if let Err(e) = labeller.set_label(&res.path, &want, labels::restored(res.kind)) {
                for prev in done.iter().rev().filter(|p| labels::restored(p.kind)) {
                    let _ = labeller.restore_label(&prev.path);
                }
                return Err(e);
            }
            done.push(res);
        }
        Ok(())
    }

    fn restore_all_labels(
        &self,
        _vm: &VmContext,
        label: &SecLabel,
        resources: &[Resource],
    ) -> Result<()> {
        if label.relabel != Some(true) {
            return Ok(());
        }
        let labeller = self.labeller()?;
        let mut first = None;
        for res in resources
            .iter()
            .filter(|r| r.relabel && labels::restored(r.kind))
        {
            if let Err(e) = labeller.restore_label(&res.path) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    fn child_confinement(&self, _vm: &VmContext, label: &SecLabel) -> Result<ChildConfinement> {
        if label.label_type.as_deref() == Some("none") {
            return Ok(ChildConfinement::default());
        }
        // The supervisor's QMP connection: this process's type at the VM's level, or
        // QEMU (at cA,cB) may not write to a socket at the manager's whole range.
        let ours = &self.host()?.ours;
        Ok(ChildConfinement {
            exec_label: label.label.clone(),
            monitor_socket_label: Some(ours.with_range(&Self::level(label)?).to_string()),
            ..Default::default()
        })
    }

    fn secmodel(&self) -> SecModel {
        let baselabels = match self.host() {
            Ok(h) => [("kvm", VirtType::Kvm), ("qemu", VirtType::Qemu)]
                .into_iter()
                .map(|(name, t)| (name.to_string(), h.policy.domain_for(t).to_string()))
                .collect(),
            Err(_) => Vec::new(),
        };
        SecModel {
            model: MODEL.into(),
            doi: "0".into(),
            baselabels,
        }
    }
}

fn create(settings: &BackendSettings) -> Result<Box<dyn SecurityBackend>> {
    Ok(Box::new(SelinuxBackend::new(settings)))
}

/// The constructor the plugin crate exports.
pub fn create_backend(settings: &BackendSettings) -> Result<Box<dyn SecurityBackend>> {
    create(settings)
}

oxvirt_core::inventory::submit! {
    BackendRegistration { model: "selinux", create }
}
