//! qemu.toml: every key parses into its field.

mod common;
use common::*;

#[test]
fn every_key_parses() {
    let c = ok(r#"
user = "libvirt-qemu"
group = "+64055"
dynamic_ownership = false
remember_owner = false
security_driver = ["selinux", "dac"]
security_default_confined = false
security_require_confined = true
clear_emulator_capabilities = false
cgroup_controllers = ["cpu", "devices", "memory", "blkio", "cpuset", "cpuacct"]
cgroup_device_acl = ["/dev/null", "/dev/kvm", "/dev/net/tun"]
seccomp_sandbox = 0
namespaces = []
max_processes = 1000
max_files = 32768
vnc_listen = "0.0.0.0"
plugin_dir = "/usr/lib/oxvirt/plugins"
emulator_dirs = ["/usr/local/bin", "/usr/bin"]
destroy_grace_seconds = 0
shutdown_timeout_seconds = 60
"#);
    assert_eq!(c.user.as_deref(), Some("libvirt-qemu"));
    assert_eq!(c.group.as_deref(), Some("+64055"));
    assert!(!c.dynamic_ownership);
    assert!(!c.remember_owner);
    assert_eq!(
        c.security_driver,
        SecurityDriverSetting::List(vec!["selinux".into(), "dac".into()])
    );
    assert_eq!(c.security_driver.names(), ["selinux", "dac"]);
    assert!(!c.security_default_confined);
    assert!(c.security_require_confined);
    assert!(!c.clear_emulator_capabilities);
    assert_eq!(c.cgroup_controllers.as_ref().unwrap().len(), 6);
    assert_eq!(
        c.cgroup_device_acl,
        Some(vec![
            "/dev/null".into(),
            "/dev/kvm".into(),
            "/dev/net/tun".into()
        ])
    );
    assert_eq!(c.effective_cgroup_device_acl().len(), 3);
    assert_eq!(c.seccomp_sandbox, 0);
    assert!(c.namespaces.is_empty());
    assert_eq!(c.max_processes, 1000);
    assert_eq!(c.max_files, 32768);
    assert_eq!(c.vnc_listen, "0.0.0.0");
    assert_eq!(c.plugin_dir, Some(PathBuf::from("/usr/lib/oxvirt/plugins")));
    assert_eq!(
        c.emulator_dirs,
        vec![PathBuf::from("/usr/local/bin"), PathBuf::from("/usr/bin")]
    );
    assert_eq!(c.destroy_grace_seconds, 0);
    assert_eq!(c.shutdown_timeout_seconds, 60);
    c.validate(Path::new(P)).unwrap();
}

#[test]
fn single_values_parse() {
    assert_eq!(ok("user = \"qemu\"").user.as_deref(), Some("qemu"));
    assert_eq!(ok("user = \"+0\"").user.as_deref(), Some("+0"));
    assert_eq!(ok("group = \"kvm\"").group.as_deref(), Some("kvm"));
    assert!(ok("dynamic_ownership = true").dynamic_ownership);
    assert!(ok("remember_owner = true").remember_owner);
    let none = ok("security_driver = \"none\"").security_driver;
    assert_eq!(none, SecurityDriverSetting::One("none".into()));
    assert!(none.is_none());
    assert!(ok("security_driver = [\"none\"]").security_driver.is_none());
    assert_eq!(
        ok("security_driver = \"my-plugin_2\"")
            .security_driver
            .names(),
        ["my-plugin_2"]
    );
    assert!(ok("security_default_confined = true").security_default_confined);
    assert!(!ok("security_require_confined = false").security_require_confined);
    assert!(ok("clear_emulator_capabilities = true").clear_emulator_capabilities);
    assert_eq!(
        ok("cgroup_controllers = []").cgroup_controllers,
        Some(vec![])
    );
    assert_eq!(ok("cgroup_device_acl = []").cgroup_device_acl, Some(vec![]));
    for n in [-1, 0, 1] {
        assert_eq!(ok(&format!("seccomp_sandbox = {n}")).seccomp_sandbox, n);
    }
    assert_eq!(ok("namespaces = [\"mount\"]").namespaces, vec!["mount"]);
    assert_eq!(ok("max_processes = 0").max_processes, 0);
    assert_eq!(ok("max_files = 1_000_000").max_files, 1_000_000);
    for v in ["::", "::1", "192.168.1.1", "localhost", "vnc.example.org"] {
        assert_eq!(ok(&format!("vnc_listen = \"{v}\"")).vnc_listen, v);
    }
    assert_eq!(
        ok("destroy_grace_seconds = 3600").destroy_grace_seconds,
        3600
    );
    assert_eq!(
        ok("shutdown_timeout_seconds = 0").shutdown_timeout_seconds,
        0
    );
    assert_eq!(
        ok("shutdown_timeout_seconds = 86400").shutdown_timeout_seconds,
        86400
    );
}
