//! The DAC security backend (libvirt's `security_dac.c`): QEMU runs as qemu.toml's
//! `user`/`group` with its supplementary groups and no capabilities, and with
//! `dynamic_ownership` every resource of the VM is chowned to that identity before QEMU
//! starts and given back when it stops — the original owner remembered in xattrs when
//! `remember_owner` is on ([`remember`]). Read-only and shareable disks are chowned but
//! never given back (other VMs may use them), as libvirt does.
//!
//! Must not touch: anything after fork — it returns uid/gid/groups as data.

pub mod ids;
pub mod remember;

use ids::{format_label, group_id, group_list, parse_label, user_id, user_name};
use oxvirt_core::domain::SecLabel;
use oxvirt_core::security::{
    BackendRegistration, BackendSettings, ChildConfinement, Resource, ResourceKind, SecModel,
    SecurityBackend, VmContext,
};
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use remember::Recall;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The model name, also the suffix of the remembered-owner attributes.
const MODEL: &str = "dac";

/// The DAC backend with its configured identity.
pub struct DacBackend {
    uid: u32,
    gid: u32,
    settings: BackendSettings,
}

fn sec_err(msg: String) -> Error {
    Error::new(ErrorCode::SecurityError, ErrorDomain::Security, msg)
}

impl DacBackend {
    pub fn new(settings: &BackendSettings) -> Result<DacBackend> {
        let uid = match &settings.user {
            Some(u) => user_id(u)?,
            None => 0,
        };
        let gid = match &settings.group {
            Some(g) => group_id(g)?,
            None => 0,
        };
        Ok(DacBackend {
            uid,
            gid,
            settings: settings.clone(),
        })
    }

    /// The ids a label names, or the configured ones.
    fn ids(&self, label: &SecLabel, image: bool) -> Result<(u32, u32)> {
        let text = if image {
            label.imagelabel.as_ref().or(label.label.as_ref())
        } else {
            label.label.as_ref()
        };
        match text {
            Some(t) => parse_label(t),
            None => Ok((self.uid, self.gid)),
        }
    }

    fn relabels(&self, label: &SecLabel) -> bool {
        self.settings.dynamic_ownership
            && label.relabel != Some(false)
            && label.label_type.as_deref() != Some("none")
    }

    /// Every directory above `path` must let (uid, gid) search it.
    fn check_search(&self, path: &Path, uid: u32, gid: u32) -> Result<()> {
        if uid == 0 {
            return Ok(());
        }
        let groups = group_list(uid, gid);
        let mut dir = path.parent();
        while let Some(d) = dir {
            if let Ok(m) = std::fs::metadata(d) {
                let mode = m.mode();
                let ok = if m.uid() == uid {
                    mode & 0o100 != 0
                } else if groups.contains(&m.gid()) || m.gid() == gid {
                    mode & 0o010 != 0
                } else {
                    mode & 0o001 != 0
                };
                if !ok {
                    return Err(sec_err(format!(
                        "Cannot give {} access to '{}': directory '{}' is not searchable by that user; \
                         run 'chmod o+x {}' (and on every parent directory that lacks it) or move the file",
                        user_name(uid),
                        path.display(),
                        d.display(),
                        d.display()
                    )));
                }
            }
            dir = d.parent();
        }
        Ok(())
    }

    /// chown, ignoring the errors libvirt ignores (unsupported, EPERM, read-only FS).
    fn chown(&self, path: &Path, uid: u32, gid: u32) -> Result<()> {
        if let Ok(m) = std::fs::symlink_metadata(path) {
            if m.uid() == uid && m.gid() == gid {
                return Ok(());
            }
        }
        match nix::unistd::chown(
            path,
            Some(nix::unistd::Uid::from_raw(uid)),
            Some(nix::unistd::Gid::from_raw(gid)),
        ) {
            Ok(()) => Ok(()),
            Err(nix::errno::Errno::EOPNOTSUPP)
            | Err(nix::errno::Errno::EINVAL)
            | Err(nix::errno::Errno::EPERM)
            | Err(nix::errno::Errno::EROFS) => Ok(()),
            Err(e) => Err(sec_err(format!(
                "unable to set user and group to '{uid}:{gid}' on '{}': {e}",
                path.display()
            ))),
        }
    }

    fn owner(path: &Path) -> Result<(u32, u32)> {
        std::fs::metadata(path)
            .map(|m| (m.uid(), m.gid()))
            .map_err(|e| sec_err(format!("unable to stat '{}': {e}", path.display())))
    }

    fn set_one(&self, res: &Resource, uid: u32, gid: u32) -> Result<()> {
        let remembered = matches!(
            res.kind,
            ResourceKind::Disk {
                readonly: false,
                shared: false
            } | ResourceKind::BootFile
                | ResourceKind::Chardev
                | ResourceKind::Hostdev
        );
        self.check_search(&res.path, uid, gid)?;
        if remembered && self.settings.remember_owner {
            let (ou, og) = Self::owner(&res.path)?;
            if let Some(count) = remember::remember(MODEL, &res.path, &format_label(ou, og))? {
                if count > 1 && (ou, og) != (uid, gid) {
                    remember::undo(MODEL, &res.path);
                    return Err(sec_err(format!(
                        "Setting different DAC user or group on {} which is already in use",
                        res.path.display()
                    )));
                }
            }
        }
        if let Err(e) = self.chown(&res.path, uid, gid) {
            if remembered && self.settings.remember_owner {
                remember::undo(MODEL, &res.path);
            }
            return Err(e);
        }
        Ok(())
    }

    fn restore_one(&self, res: &Resource) -> Result<()> {
        match res.kind {
            ResourceKind::Disk { readonly, shared } if readonly || shared => return Ok(()),
            ResourceKind::BackingFile | ResourceKind::VmDir => return Ok(()),
            _ => {}
        }
        if !res.path.exists() {
            return Ok(());
        }
        if !self.settings.remember_owner {
            return self.chown(&res.path, 0, 0);
        }
        match remember::recall(MODEL, &res.path)? {
            Recall::InUse => Ok(()),
            Recall::Restore(l) => {
                let (uid, gid) = parse_label(&l)?;
                // Owner first, then forget it: killed in between, the next restore
                // still knows whom to give the file back to.
                self.chown(&res.path, uid, gid)?;
                remember::forget(MODEL, &res.path);
                Ok(())
            }
            // Never relabelled by us (a start that failed or died before reaching
            // it), or relabelled by someone else: leave it alone.
            Recall::NotRemembered => Ok(()),
        }
    }

    /// The per-resource DAC label, if the XML gave one.
    fn resource_ids(&self, res: &Resource, default: (u32, u32)) -> Result<(u32, u32)> {
        match &res.label {
            Some((model, label)) if model == "dac" => parse_label(label),
            _ => Ok(default),
        }
    }
}

impl SecurityBackend for DacBackend {
    fn model(&self) -> &str {
        "dac"
    }

    fn probe(&self) -> Result<bool> {
        Ok(true)
    }

    fn gen_label(&self, _vm: &VmContext, requested: Option<&SecLabel>) -> Result<SecLabel> {
        let mut l = requested.cloned().unwrap_or_default();
        l.model = Some("dac".into());
        match l.label_type.as_deref().unwrap_or("dynamic") {
            "none" => {
                l.label_type = Some("none".into());
                l.relabel = Some(false);
            }
            "static" => {
                let label = l.label.clone().ok_or_else(|| {
                    sec_err("missing label for static security driver: add <label>OWNER:GROUP</label> to <seclabel model='dac'>".into())
                })?;
                parse_label(&label)?;
                if l.relabel.is_none() {
                    l.relabel = Some(false);
                }
                if l.relabel == Some(true) {
                    l.imagelabel = Some(label);
                }
            }
            _ => {
                l.label_type = Some("dynamic".into());
                if l.relabel == Some(false) {
                    return Err(sec_err(
                        "dynamic label type must use resource relabeling (remove relabel='no')"
                            .into(),
                    ));
                }
                let label = format_label(self.uid, self.gid);
                l.label = Some(label.clone());
                l.imagelabel = Some(label);
                l.relabel = Some(true);
            }
        }
        Ok(l)
    }

    fn set_all_labels(
        &self,
        _vm: &VmContext,
        label: &SecLabel,
        resources: &[Resource],
    ) -> Result<()> {
        // The VM's own directories belong to the identity QEMU runs as, whatever the
        // relabel settings: QEMU creates its sockets there.
        let (puid, pgid) = self.ids(label, false)?;
        for res in resources.iter().filter(|r| r.kind == ResourceKind::VmDir) {
            self.check_search(&res.path, puid, pgid)?;
            self.chown(&res.path, puid, pgid)?;
        }
        if !self.relabels(label) {
            return Ok(());
        }
        let ids = self.ids(label, true)?;
        let mut done: Vec<&Resource> = Vec::new();
        for res in resources
            .iter()
            .filter(|r| r.relabel && r.kind != ResourceKind::VmDir)
        {
            let (uid, gid) = self.resource_ids(res, ids)?;
            if let Err(e) = self.set_one(res, uid, gid) {
                for prev in done.iter().rev() {
                    let _ = self.restore_one(prev);
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
        if !self.relabels(label) {
            return Ok(());
        }
        let mut first = None;
        for res in resources.iter().filter(|r| r.relabel) {
            if let Err(e) = self.restore_one(res) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    fn child_confinement(&self, _vm: &VmContext, label: &SecLabel) -> Result<ChildConfinement> {
        let (uid, gid) = self.ids(label, false)?;
        Ok(ChildConfinement {
            uid: Some(uid),
            gid: Some(gid),
            groups: Some(group_list(uid, gid)),
            clear_capabilities: uid != 0 || self.settings.clear_emulator_capabilities,
            ..Default::default()
        })
    }

    fn secmodel(&self) -> SecModel {
        let base = format_label(self.uid, self.gid);
        SecModel {
            model: "dac".into(),
            doi: "0".into(),
            baselabels: vec![("kvm".into(), base.clone()), ("qemu".into(), base)],
        }
    }
}

fn create(settings: &BackendSettings) -> Result<Box<dyn SecurityBackend>> {
    Ok(Box::new(DacBackend::new(settings)?))
}

oxvirt_core::inventory::submit! {
    BackendRegistration { model: "dac", create }
}
