//! The backend on real files of the build host (no SELinux kernel here: the labels are
//! the `security.selinux` xattrs the kernel keeps for any LSM-less filesystem, which is
//! exactly what `setfilecon` writes; root needed for `security.*` and `trusted.*`).
//! With Debian's policy as a fixture and the harness context `virtd_t`: two VMs get
//! different pairs, each resource kind its label, the original labels come back at
//! restore with no `trusted.libvirt.security.*` left, a writable disk in use by one VM
//! is refused to another, `type='none'` and a static label without relabel touch only
//! what they must. What the kernel then enforces is proven in the LSM VM
//! (`tests/tests/lsm_selinux_svirt.rs`).

use oxvirt_core::domain::{parse_domain_xml, Domain, SecLabel};
use oxvirt_core::security::{BackendSettings, Resource, ResourceKind, SecurityBackend, VmContext};
use oxvirt_security_selinux::context::Context;
use oxvirt_security_selinux::labels::Host;
use oxvirt_security_selinux::policy::Policy;
use oxvirt_security_selinux::SelinuxBackend;
use std::path::{Path, PathBuf};

const ORIGINAL: &str = "system_u:object_r:var_lib_t:s0";

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test sets security.* and trusted.* xattrs: run it as root"
    );
}

fn backend(state: &Path) -> SelinuxBackend {
    let host = Host {
        policy: Policy::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/policy/debian"))
            .unwrap(),
        ours: Context::parse("system_u:system_r:virtd_t:s0-s0:c0.c1023").unwrap(),
        enforcing: true,
    };
    let settings = BackendSettings {
        remember_owner: true,
        privileged: true,
        state_dir: Some(state.to_path_buf()),
        ..Default::default()
    };
    SelinuxBackend::with_host(&settings, host)
}

fn domain(name: &str, n: u128) -> Domain {
    parse_domain_xml(&format!(
        "<domain type='qemu'><name>{name}</name><uuid>{}</uuid><memory>1024</memory>\
         <os><type>hvm</type></os></domain>",
        uuid::Uuid::from_u128(n)
    ))
    .unwrap()
}

fn vm(d: &Domain) -> VmContext<'_> {
    VmContext {
        domain: d,
        name: &d.name,
        uuid: d.uuid,
        virt_type: d.virt_type,
        privileged: true,
    }
}

fn label_of(p: &Path) -> String {
    let v = xattr::get(p, "security.selinux")
        .unwrap()
        .unwrap_or_default();
    String::from_utf8_lossy(&v)
        .trim_end_matches('\0')
        .to_string()
}

fn trusted_left(p: &Path) -> Vec<String> {
    xattr::list(p)
        .unwrap()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| n.starts_with("trusted.libvirt.security."))
        .collect()
}

fn file(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, b"x").unwrap();
    xattr::set(&p, "security.selinux", ORIGINAL.as_bytes()).unwrap();
    p
}

fn res(path: &Path, kind: ResourceKind) -> Resource {
    Resource {
        path: path.to_path_buf(),
        kind,
        relabel: true,
        label: None,
    }
}

fn disk(readonly: bool, shared: bool) -> ResourceKind {
    ResourceKind::Disk { readonly, shared }
}

fn dynamic() -> SecLabel {
    SecLabel {
        label_type: Some("dynamic".into()),
        model: Some("selinux".into()),
        ..Default::default()
    }
}

#[test]
fn two_vms_get_their_own_levels_and_every_label_comes_back() {
    require_root();
    let state = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let b = backend(state.path());
    let (da, db) = (domain("a", 1), domain("b", 2));
    let la = b.gen_label(&vm(&da), Some(&dynamic())).unwrap();
    let lb = b.gen_label(&vm(&db), Some(&dynamic())).unwrap();
    let level = |l: &SecLabel| Context::parse(l.label.as_deref().unwrap()).unwrap().range;
    assert_ne!(level(&la), level(&lb), "two VMs, one pair");
    assert!(la
        .label
        .as_deref()
        .unwrap()
        .starts_with("system_u:system_r:svirt_t:s0:c"));
    assert_eq!(
        b.child_confinement(&vm(&da), &la).unwrap().exec_label,
        la.label
    );

    let own = file(dir.path(), "a.img");
    let shared = file(dir.path(), "shared.img");
    let ro = file(dir.path(), "ro.img");
    let kernel = file(dir.path(), "vmlinuz");
    let untouched = file(dir.path(), "norelabel.img");
    let vmdir = dir.path().join("domain-1-a");
    std::fs::create_dir(&vmdir).unwrap();
    let mut no = res(&untouched, disk(false, false));
    no.relabel = false;
    let resources = [
        res(&own, disk(false, false)),
        res(&shared, disk(false, true)),
        res(&ro, disk(true, false)),
        res(&kernel, ResourceKind::BootFile),
        no,
        res(&vmdir, ResourceKind::VmDir),
    ];
    b.set_all_labels(&vm(&da), &la, &resources).unwrap();
    let image = la.imagelabel.clone().unwrap();
    assert_eq!(label_of(&own), image);
    assert_eq!(label_of(&shared), "system_u:object_r:svirt_image_t:s0");
    assert_eq!(label_of(&ro), "system_u:object_r:virt_content_t:s0");
    assert_eq!(label_of(&kernel), "system_u:object_r:virt_content_t:s0");
    assert_eq!(label_of(&untouched), ORIGINAL);
    assert_eq!(label_of(&vmdir), image);
    assert_eq!(
        trusted_left(&own).len(),
        3,
        "label, ref and timestamp of model selinux"
    );
    assert!(trusted_left(&shared).is_empty() && trusted_left(&ro).is_empty());

    // VM b may not take a's writable disk with its own label.
    let e = b
        .set_all_labels(&vm(&db), &lb, &[res(&own, disk(false, false))])
        .unwrap_err();
    assert!(e.message.contains("already in use"), "{}", e.message);
    assert_eq!(label_of(&own), image, "a keeps its disk");

    b.restore_all_labels(&vm(&da), &la, &resources).unwrap();
    b.release_label(&vm(&da), &la).unwrap();
    for p in [&own, &kernel, &untouched] {
        assert_eq!(label_of(p), ORIGINAL, "{}", p.display());
        assert!(
            trusted_left(p).is_empty(),
            "{}: {:?}",
            p.display(),
            trusted_left(p)
        );
    }
    // Shared and read-only images are never given back (other VMs may use them).
    assert_eq!(label_of(&ro), "system_u:object_r:virt_content_t:s0");
    assert_eq!(label_of(&shared), "system_u:object_r:svirt_image_t:s0");
    let held = std::fs::read_to_string(state.path().join("selinux-mcs")).unwrap();
    assert!(
        !held.contains(&da.uuid.to_string()),
        "a's pair released: {held}"
    );
    assert!(
        held.contains(&db.uuid.to_string()),
        "b still holds its pair: {held}"
    );
}

#[test]
fn none_and_static_without_relabel_leave_the_files_alone() {
    require_root();
    let state = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let b = backend(state.path());
    let d = domain("s", 3);
    let img = file(dir.path(), "s.img");
    let vmdir = dir.path().join("domain-3-s");
    std::fs::create_dir(&vmdir).unwrap();
    let resources = [
        res(&img, disk(false, false)),
        res(&vmdir, ResourceKind::VmDir),
    ];

    let none = SecLabel {
        label_type: Some("none".into()),
        ..dynamic()
    };
    let l = b.gen_label(&vm(&d), Some(&none)).unwrap();
    assert_eq!(b.child_confinement(&vm(&d), &l).unwrap().exec_label, None);
    b.set_all_labels(&vm(&d), &l, &resources).unwrap();
    assert_eq!(label_of(&img), ORIGINAL);
    assert_eq!(label_of(&vmdir), "", "type='none' labels nothing");

    let fixed = SecLabel {
        label_type: Some("static".into()),
        label: Some("system_u:system_r:svirt_t:s0:c7,c8".into()),
        ..dynamic()
    };
    let l = b.gen_label(&vm(&d), Some(&fixed)).unwrap();
    assert_eq!(l.relabel, Some(false));
    assert_eq!(
        b.child_confinement(&vm(&d), &l)
            .unwrap()
            .exec_label
            .as_deref(),
        Some("system_u:system_r:svirt_t:s0:c7,c8")
    );
    b.set_all_labels(&vm(&d), &l, &resources).unwrap();
    assert_eq!(
        label_of(&img),
        ORIGINAL,
        "relabel='no': the admin labels images"
    );
    assert_eq!(
        label_of(&vmdir),
        "system_u:object_r:svirt_image_t:s0:c7,c8",
        "QEMU's own directory carries its level"
    );
    b.restore_all_labels(&vm(&d), &l, &resources).unwrap();
    assert!(
        !state.path().join("selinux-mcs").exists() || {
            let t = std::fs::read_to_string(state.path().join("selinux-mcs")).unwrap();
            t.trim().is_empty()
        },
        "static and none labels reserve no pair"
    );
}
