//! The label of a VM, as libvirt's AppArmor driver gives it:
//!
//! | `<seclabel>` | profile QEMU runs under | profile files | relabel |
//! |---|---|---|---|
//! | `dynamic` (or none, with `security_default_confined`) | `libvirt-UUID`, made for the VM at start, removed at stop | `libvirt-UUID`, `libvirt-UUID.files` | yes (`relabel='no'` refused, `<baselabel>` refused) |
//! | `static` + `<label>PROFILE</label>` | that profile, which must be loaded | none: the admin's | as given (default no) |
//! | `none` | none (QEMU inherits the manager's confinement) | none | no |

use oxvirt_core::domain::SecLabel;
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use uuid::Uuid;

pub const MODEL: &str = "apparmor";

fn label_err(msg: String) -> Error {
    Error::new(ErrorCode::ConfigUnsupported, ErrorDomain::Security, msg)
}

/// libvirt's profile name for a VM.
pub fn profile_name(uuid: Uuid) -> String {
    format!("libvirt-{uuid}")
}

/// The label `req` asks for; `loaded` says whether a static profile is in the kernel.
pub fn gen(uuid: Uuid, req: &SecLabel, loaded: &dyn Fn(&str) -> bool) -> Result<SecLabel> {
    match req.label_type.as_deref().unwrap_or("dynamic") {
        "none" => {
            if req.relabel == Some(true) {
                return Err(label_err(
                    "<seclabel type='none' model='apparmor'> cannot have relabel='yes'".into(),
                ));
            }
            Ok(SecLabel {
                label_type: Some("none".into()),
                model: Some(MODEL.into()),
                relabel: Some(false),
                ..Default::default()
            })
        }
        "static" => {
            let label = req.label.clone().ok_or_else(|| {
                label_err(
                    "security label is missing: <seclabel type='static' model='apparmor'> \
                     needs <label>PROFILE</label>, a loaded AppArmor profile"
                        .into(),
                )
            })?;
            if !loaded(&label) {
                return Err(label_err(format!(
                    "the static AppArmor profile '{label}' of <seclabel type='static'> is \
                     not loaded; load it with apparmor_parser or use a dynamic label"
                )));
            }
            Ok(SecLabel {
                label_type: Some("static".into()),
                model: Some(MODEL.into()),
                relabel: Some(req.relabel.unwrap_or(false)),
                imagelabel: req.relabel.unwrap_or(false).then(|| label.clone()),
                label: Some(label),
                baselabel: None,
            })
        }
        "dynamic" => {
            if req.baselabel.is_some() {
                return Err(label_err(
                    "Cannot set a base label with AppArmor: remove <baselabel> from \
                     <seclabel model='apparmor'>"
                        .into(),
                ));
            }
            if req.relabel == Some(false) {
                return Err(label_err(
                    "dynamic label type must use resource relabeling: remove relabel='no' \
                     from <seclabel type='dynamic' model='apparmor'>"
                        .into(),
                ));
            }
            let name = profile_name(uuid);
            Ok(SecLabel {
                label_type: Some("dynamic".into()),
                model: Some(MODEL.into()),
                relabel: Some(true),
                label: Some(name.clone()),
                imagelabel: Some(name),
                baselabel: None,
            })
        }
        other => Err(label_err(format!(
            "unknown seclabel type '{other}' for model apparmor; use dynamic, static or none"
        ))),
    }
}

/// The VM's profile is made and removed by oxvirt (a dynamic label).
pub fn is_managed(label: &SecLabel) -> bool {
    label.label_type.as_deref() == Some("dynamic")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(t: &str) -> SecLabel {
        SecLabel {
            label_type: Some(t.into()),
            model: Some(MODEL.into()),
            ..Default::default()
        }
    }

    #[test]
    fn dynamic_static_and_none() {
        let u = Uuid::from_u128(0x1234);
        let l = gen(u, &req("dynamic"), &|_| false).unwrap();
        assert_eq!(l.label.as_deref(), Some(&*profile_name(u)));
        assert_eq!(l.imagelabel, l.label);
        assert_eq!(l.relabel, Some(true));
        let mut s = req("static");
        assert!(gen(u, &s, &|_| true)
            .unwrap_err()
            .message
            .contains("missing"));
        s.label = Some("my-qemu".into());
        assert!(gen(u, &s, &|_| false)
            .unwrap_err()
            .message
            .contains("not loaded"));
        let l = gen(u, &s, &|n| n == "my-qemu").unwrap();
        assert_eq!(l.label.as_deref(), Some("my-qemu"));
        assert_eq!(l.relabel, Some(false));
        assert!(!is_managed(&l));
        let n = gen(u, &req("none"), &|_| false).unwrap();
        assert_eq!(n.label, None);
        let mut b = req("dynamic");
        b.baselabel = Some("x".into());
        assert!(gen(u, &b, &|_| false)
            .unwrap_err()
            .message
            .contains("base label"));
        let mut r = req("dynamic");
        r.relabel = Some(false);
        assert!(gen(u, &r, &|_| false).is_err());
    }
}
