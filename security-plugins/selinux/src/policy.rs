//! The loaded policy's sVirt contexts: `contexts/virtual_domain_context` (line 1 the
//! domain of QEMU, an optional line 2 the domain for TCG guests) and
//! `contexts/virtual_image_context` (line 1 the image label, line 2 the content label
//! for read-only files) under the policy root (`/etc/selinux/TYPE`, libselinux's
//! `selinux_policy_root`), as libvirt reads them.

use crate::context::Context;
use oxvirt_core::domain::VirtType;
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::path::{Path, PathBuf};

/// The base contexts of sVirt in one policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// QEMU's domain (`svirt_t`).
    pub domain: Context,
    /// The domain for TCG guests, when the policy has one (Fedora's `svirt_tcg_t`).
    pub tcg_domain: Option<Context>,
    /// A VM's images (`svirt_image_t`).
    pub image: Context,
    /// Read-only content (`virt_content_t`).
    pub content: Context,
}

fn policy_err(msg: String) -> Error {
    Error::new(ErrorCode::ConfigUnsupported, ErrorDomain::Security, msg)
}

fn lines(path: &Path) -> Result<Vec<Context>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        policy_err(format!(
            "cannot read the SELinux policy's sVirt contexts '{}': {e}; install a policy \
             with the virt module (Debian: selinux-policy-default)",
            path.display()
        ))
    })?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            Context::parse(l).map_err(|e| policy_err(format!("{}: {}", path.display(), e.message)))
        })
        .collect()
}

impl Policy {
    /// Read the contexts of the policy rooted at `root` (`/etc/selinux/default`).
    pub fn load(root: &Path) -> Result<Policy> {
        let domain_file = root.join("contexts/virtual_domain_context");
        let image_file = root.join("contexts/virtual_image_context");
        let mut domains = lines(&domain_file)?.into_iter();
        let mut images = lines(&image_file)?.into_iter();
        let missing = |f: &Path, what: &str| {
            policy_err(format!(
                "'{}' has no {what} line; reinstall the policy's virt module",
                f.display()
            ))
        };
        Ok(Policy {
            domain: domains
                .next()
                .ok_or_else(|| missing(&domain_file, "domain"))?,
            tcg_domain: domains.next(),
            image: images.next().ok_or_else(|| missing(&image_file, "image"))?,
            content: images
                .next()
                .ok_or_else(|| missing(&image_file, "content (second)"))?,
        })
    }

    /// The root of the policy the kernel has loaded (libselinux's `selinux_policy_root`).
    pub fn system_root() -> Result<PathBuf> {
        selinux::policy::root_path()
            .map(Path::to_path_buf)
            .map_err(|e| policy_err(format!("cannot find the SELinux policy root: {e}")))
    }

    /// The base domain for `virt_type` (`getBaseLabel`): the TCG domain for `qemu`
    /// guests when the policy has one.
    pub fn domain_for(&self, virt_type: VirtType) -> &Context {
        match (virt_type, &self.tcg_domain) {
            (VirtType::Qemu, Some(tcg)) => tcg,
            _ => &self.domain,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/policy")
            .join(name)
    }

    #[test]
    fn debians_policy_has_one_domain_for_kvm_and_tcg() {
        let p = Policy::load(&fixture("debian")).unwrap();
        assert_eq!(p.domain.to_string(), "system_u:system_r:svirt_t:s0");
        assert_eq!(p.tcg_domain, None);
        assert_eq!(p.domain_for(VirtType::Qemu), &p.domain);
        assert_eq!(p.image.to_string(), "system_u:object_r:svirt_image_t:s0");
        assert_eq!(p.content.to_string(), "system_u:object_r:virt_content_t:s0");
    }

    #[test]
    fn a_tcg_domain_line_serves_qemu_guests() {
        let p = Policy::load(&fixture("tcg")).unwrap();
        assert_eq!(p.domain_for(VirtType::Kvm).kind, "svirt_t");
        assert_eq!(p.domain_for(VirtType::Qemu).kind, "svirt_tcg_t");
    }

    #[test]
    fn a_missing_or_short_policy_is_an_error_naming_the_file() {
        let d = tempfile::tempdir().unwrap();
        let e = Policy::load(d.path()).unwrap_err();
        assert!(e.message.contains("virtual_domain_context"), "{e}");
        assert!(e.message.contains("selinux-policy-default"), "{e}");
        std::fs::create_dir(d.path().join("contexts")).unwrap();
        std::fs::write(
            d.path().join("contexts/virtual_domain_context"),
            "system_u:system_r:svirt_t:s0\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("contexts/virtual_image_context"),
            "system_u:object_r:svirt_image_t:s0\n",
        )
        .unwrap();
        let e = Policy::load(d.path()).unwrap_err();
        assert!(e.message.contains("no content (second) line"), "{e}");
    }
}
