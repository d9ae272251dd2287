//! The labels of one VM (`gen_label`) and of each of its resources, as libvirt's sVirt
//! gives them:
//!
//! | `<seclabel>` | process label | image label | relabel |
//! |---|---|---|---|
//! | `dynamic` (or none, with `security_default_confined`) | base domain (`<baselabel>`'s type, else the policy's) + a unique `cA,cB` | the policy's image type + the same level | yes (`relabel='no'` is refused) |
//! | `static` + `<label>` | that label | with `relabel='yes'`: the image type at the label's level | default no |
//! | `none` | — (QEMU keeps what the policy gives it) | — | no |
//!
//! | resource | label | remembered and restored |
//! |---|---|---|
//! | writable disk | image label | yes |
//! | `<shareable/>` disk | the policy's image context, no categories | no |
//! | `<readonly/>` disk, backing files | the policy's content context | no |
//! | kernel, initrd, loader | content context | yes |
//! | chardev files and sockets, host devices | image label | yes |
//! | the VM's run and lib directories (QEMU's QMP socket) | image label | no (removed at stop) |
//! | per-disk `<seclabel model='selinux'><label>` | that label | as its kind |

use crate::context::{object_label, process_label, CategoryRange, Context};
use crate::policy::Policy;
use oxvirt_core::domain::{SecLabel, VirtType};
use oxvirt_core::security::{Resource, ResourceKind};
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};

fn label_err(msg: String) -> Error {
    Error::new(ErrorCode::ConfigUnsupported, ErrorDomain::Security, msg)
}

/// What the backend knows of this host: its policy and the managing process's context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub policy: Policy,
    /// The context of the process that starts VMs (`getcon`).
    pub ours: Context,
    /// SELinux enforces (a failure to label is fatal).
    pub enforcing: bool,
}

/// A dynamic label: `level` is the VM's (reserved) MCS level.
pub fn dynamic(host: &Host, virt_type: VirtType, req: &SecLabel, level: &str) -> Result<SecLabel> {
    let base = match &req.baselabel {
        Some(b) => Context::parse(b)?,
        None => host.policy.domain_for(virt_type).clone(),
    };
    Ok(SecLabel {
        label_type: Some("dynamic".into()),
        model: Some(crate::files::MODEL.into()),
        relabel: Some(true),
        label: Some(process_label(&base, &host.ours, level)),
        imagelabel: Some(object_label(&host.policy.image, &host.ours, level)),
        baselabel: req.baselabel.clone(),
    })
}

/// What `req` asks for before any level is allocated: refuses the combinations libvirt
/// refuses. Returns the label's type (`dynamic`, `static`, `none`).
pub fn check_request(req: &SecLabel) -> Result<&'static str> {
    match req.label_type.as_deref().unwrap_or("dynamic") {
        "none" => {
            if req.relabel == Some(true) {
                return Err(label_err(
                    "<seclabel type='none' model='selinux'> cannot have relabel='yes'".into(),
                ));
            }
            Ok("none")
        }
        "static" => {
            let label = req.label.as_deref().ok_or_else(|| {
                label_err(
                    "security label is missing: <seclabel type='static' model='selinux'> \
                     needs <label>USER:ROLE:TYPE:LEVEL</label>"
                        .into(),
                )
            })?;
            Context::parse(label)?;
            if req.imagelabel.is_some() {
                return Err(label_err(
                    "security image label already defined for VM: remove <imagelabel> \
                     (it is generated)"
                        .into(),
                ));
            }
            Ok("static")
        }
        "dynamic" => {
            if req.label.is_some() {
                return Err(label_err(
                    "security label already defined for VM: a dynamic <seclabel> takes no \
                     <label> (use type='static' for a fixed one)"
                        .into(),
                ));
            }
            if req.imagelabel.is_some() {
                return Err(label_err(
                    "security image label already defined for VM: remove <imagelabel> \
                     (it is generated)"
                        .into(),
                ));
            }
            if req.relabel == Some(false) {
                return Err(label_err(
                    "dynamic label type must use resource relabeling (remove relabel='no')".into(),
                ));
            }
            Ok("dynamic")
        }
        other => Err(label_err(format!("unknown <seclabel> type '{other}'"))),
    }
}

/// A static label: its own level for the image label (when relabelling).
pub fn fixed(host: &Host, req: &SecLabel) -> Result<SecLabel> {
    let label = req.label.clone().unwrap_or_default();
    let ctx = Context::parse(&label)?;
    let relabel = req.relabel.unwrap_or(false);
    let level = ctx.range.clone().unwrap_or_else(|| "s0".into());
    Ok(SecLabel {
        label_type: Some("static".into()),
        model: Some(crate::files::MODEL.into()),
        relabel: Some(relabel),
        imagelabel: relabel.then(|| object_label(&host.policy.image, &host.ours, &level)),
        label: Some(label),
        baselabel: None,
    })
}

/// The label given to the VM's own directories, where QEMU creates its sockets: the
/// image label, or for a static label without relabelling the image type at that
/// label's level. `None` for `type='none'`.
pub fn dir_label(host: &Host, label: &SecLabel) -> Result<Option<String>> {
    if let Some(image) = &label.imagelabel {
        return Ok(Some(image.clone()));
    }
    match &label.label {
        Some(l) if label.label_type.as_deref() != Some("none") => {
            let level = Context::parse(l)?.range.unwrap_or_else(|| "s0".into());
            Ok(Some(object_label(&host.policy.image, &host.ours, &level)))
        }
        _ => Ok(None),
    }
}

/// Whether a resource of `kind` gets its original label back when the VM stops (other
/// VMs may still use shared, read-only and backing files; the VM's directories are
/// removed).
pub fn restored(kind: ResourceKind) -> bool {
    match kind {
        ResourceKind::Disk { readonly, shared } => !readonly && !shared,
        ResourceKind::BackingFile | ResourceKind::VmDir => false,
        ResourceKind::BootFile | ResourceKind::Chardev | ResourceKind::Hostdev => true,
    }
}

/// The label `res` gets from a VM whose image label is `image`.
pub fn resource_label(policy: &Policy, image: &str, res: &Resource) -> String {
    if let Some((model, label)) = &res.label {
        if model == crate::files::MODEL {
            return label.clone();
        }
    }
    match res.kind {
        ResourceKind::Disk { shared: true, .. } => policy.image.to_string(),
        ResourceKind::Disk { readonly: true, .. }
        | ResourceKind::BackingFile
        | ResourceKind::BootFile => policy.content.to_string(),
        ResourceKind::Disk { .. }
        | ResourceKind::Chardev
        | ResourceKind::Hostdev
        | ResourceKind::VmDir => image.to_string(),
    }
}

/// The manager's category range (from its own context).
pub fn category_range(host: &Host) -> Result<CategoryRange> {
    CategoryRange::of(host.ours.range.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn host() -> Host {
        Host {
            policy: Policy::load(
                &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/policy/debian"),
            )
            .unwrap(),
            ours: Context::parse("system_u:system_r:virtd_t:s0-s0:c0.c1023").unwrap(),
            enforcing: true,
        }
    }

    fn req(kind: &str) -> SecLabel {
        SecLabel {
            label_type: Some(kind.into()),
            model: Some("selinux".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_dynamic_label_is_the_domain_and_image_type_at_the_vms_level() {
        let l = dynamic(&host(), VirtType::Qemu, &req("dynamic"), "s0:c4,c99").unwrap();
        assert_eq!(
            l.label.as_deref(),
            Some("system_u:system_r:svirt_t:s0:c4,c99")
        );
        assert_eq!(
            l.imagelabel.as_deref(),
            Some("system_u:object_r:svirt_image_t:s0:c4,c99")
        );
        assert_eq!(l.relabel, Some(true));
        // A <baselabel> gives the type; user and role stay the manager's.
        let mut r = req("dynamic");
        r.baselabel = Some("other_u:other_r:my_svirt_t:s0".into());
        let l = dynamic(&host(), VirtType::Kvm, &r, "s0:c1,c2").unwrap();
        assert_eq!(
            l.label.as_deref(),
            Some("system_u:system_r:my_svirt_t:s0:c1,c2")
        );
    }

    #[test]
    fn requests_libvirt_refuses_are_refused() {
        let mut r = req("dynamic");
        r.relabel = Some(false);
        assert!(check_request(&r)
            .unwrap_err()
            .message
            .contains("must use resource relabeling"));
        let mut r = req("dynamic");
        r.label = Some("a:b:c:s0".into());
        assert!(check_request(&r)
            .unwrap_err()
            .message
            .contains("already defined"));
        let r = req("static");
        assert!(check_request(&r)
            .unwrap_err()
            .message
            .contains("security label is missing"));
        let mut r = req("static");
        r.label = Some("not a context".into());
        assert!(check_request(&r)
            .unwrap_err()
            .message
            .contains("not an SELinux context"));
        let mut r = req("none");
        r.relabel = Some(true);
        assert!(check_request(&r)
            .unwrap_err()
            .message
            .contains("relabel='yes'"));
        assert_eq!(check_request(&SecLabel::default()).unwrap(), "dynamic");
    }

    #[test]
    fn a_static_label_keeps_its_level_and_relabels_only_when_asked() {
        let mut r = req("static");
        r.label = Some("system_u:system_r:svirt_t:s0:c10,c20".into());
        let l = fixed(&host(), &r).unwrap();
        assert_eq!((l.relabel, l.imagelabel.clone()), (Some(false), None));
        assert_eq!(
            dir_label(&host(), &l).unwrap().as_deref(),
            Some("system_u:object_r:svirt_image_t:s0:c10,c20")
        );
        r.relabel = Some(true);
        let l = fixed(&host(), &r).unwrap();
        assert_eq!(
            l.imagelabel.as_deref(),
            Some("system_u:object_r:svirt_image_t:s0:c10,c20")
        );
        assert_eq!(dir_label(&host(), &req("none")).unwrap(), None);
    }

    #[test]
    fn each_resource_kind_gets_libvirts_label() {
        let h = host();
        let image = "system_u:object_r:svirt_image_t:s0:c1,c2";
        let res = |kind, label: Option<(&str, &str)>| Resource {
            path: "/x".into(),
            kind,
            relabel: true,
            label: label.map(|(m, l)| (m.to_string(), l.to_string())),
        };
        let disk = |readonly, shared| ResourceKind::Disk { readonly, shared };
        let cases = [
            (res(disk(false, false), None), image, true),
            (
                res(disk(false, true), None),
                "system_u:object_r:svirt_image_t:s0",
                false,
            ),
            (
                res(disk(true, false), None),
                "system_u:object_r:virt_content_t:s0",
                false,
            ),
            (
                res(ResourceKind::BackingFile, None),
                "system_u:object_r:virt_content_t:s0",
                false,
            ),
            (
                res(ResourceKind::BootFile, None),
                "system_u:object_r:virt_content_t:s0",
                true,
            ),
            (res(ResourceKind::Chardev, None), image, true),
            (res(ResourceKind::VmDir, None), image, false),
            (
                res(
                    disk(false, false),
                    Some(("selinux", "u:object_r:mine_t:s0")),
                ),
                "u:object_r:mine_t:s0",
                true,
            ),
            (res(disk(false, false), Some(("dac", "+1:+1"))), image, true),
        ];
        for (r, want, restore) in cases {
            assert_eq!(resource_label(&h.policy, image, &r), want, "{:?}", r.kind);
            assert_eq!(restored(r.kind), restore, "{:?}", r.kind);
        }
    }
}
