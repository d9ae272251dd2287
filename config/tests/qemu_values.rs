//! qemu.toml: invalid values name the problem and the fix.

mod common;
use common::*;

#[test]
fn user_and_group_values() {
    for k in ["user", "group"] {
        assert_eq!(
            err(&format!("{k} = \"\"")),
            format!("/r/etc/qemu.toml:1: key '{k}': the name is empty; give a {k} name, or \"+N\" for the numeric id N, or remove the key")
        );
        for v in ["+", "+abc", "+12a", "+-1"] {
            assert_eq!(
                err(&format!("{k} = \"{v}\"")),
                format!("/r/etc/qemu.toml:1: key '{k}': '{v}' starts with '+' but is not followed by digits only; write \"+N\" with N the numeric {k} id, e.g. \"+107\"")
            );
        }
        assert!(err(&format!("{k} = \"+99999999999\"")).contains("not a valid numeric id"));
        for v in ["a b", "a:b", "a/b"] {
            assert!(
                err(&format!("{k} = \"{v}\"")).contains(&format!("'{v}' is not a valid {k} name")),
                "{v}"
            );
        }
    }
}

#[test]
fn security_driver_values() {
    assert_eq!(
        err("\nsecurity_driver = [\"none\", \"dac\"]"),
        "/r/etc/qemu.toml:2: key 'security_driver': \"none\" is combined with other drivers; use either \"none\" alone or a list of real drivers"
    );
    assert_eq!(
        err("security_driver = [\"dac\", \"dac\"]"),
        "/r/etc/qemu.toml:1: key 'security_driver': 'dac' is listed twice; list each entry once"
    );
    assert!(err("security_driver = []").contains("the list is empty"));
    for v in ["", "SELinux", "dac selinux", "a,b"] {
        let e = err(&format!("security_driver = \"{v}\""));
        assert!(
            e.contains(&format!("'{v}' is not a security driver name; use one of none, dac, selinux, apparmor, landlock or the name of a security plugin")),
            "{e}"
        );
    }
}

#[test]
fn cgroup_values() {
    assert_eq!(
        err("cgroup_controllers = [\"cpu\", \"gpu\"]"),
        format!("/r/etc/qemu.toml:1: key 'cgroup_controllers': 'gpu' is not a cgroup controller; use some of {}", CGROUP_CONTROLLERS.join(", "))
    );
    assert!(err("cgroup_controllers = [\"cpu\", \"cpu\"]").contains("'cpu' is listed twice"));
    for v in [
        "dev/kvm",
        "/tmp/x",
        "/dev",
        "/dev/",
        "/dev/../etc/shadow",
        "/dev/./kvm",
        "kvm",
    ] {
        assert_eq!(
            err(&format!("cgroup_device_acl = [\"/dev/null\", \"{v}\"]")),
            format!("/r/etc/qemu.toml:1: key 'cgroup_device_acl': '{v}' is not a device path under /dev; give absolute paths under /dev without '.' or '..', e.g. \"/dev/kvm\""),
        );
    }
    assert!(err("cgroup_device_acl = [\"/dev/kvm\", \"/dev/kvm\"]").contains("listed twice"));
}

#[test]
fn seccomp_values() {
    for n in ["2", "-2", "99999999999"] {
        assert_eq!(
            err(&format!("seccomp_sandbox = {n}")),
            format!("/r/etc/qemu.toml:1: key 'seccomp_sandbox': {n} is out of range; use -1 (QEMU's default), 0 (off) or 1 (on)")
        );
    }
}

#[test]
fn namespace_values() {
    assert_eq!(
        err("namespaces = [\"net\"]"),
        "/r/etc/qemu.toml:1: key 'namespaces': 'net' is not a supported namespace; only \"mount\" is supported: use [\"mount\"] or []"
    );
    assert!(err("namespaces = [\"mount\", \"mount\"]").contains("listed twice"));
}

#[test]
fn vnc_listen_values() {
    for v in ["", "not an address", "-bad.example", "a..b", "1.2.3.4:5900"] {
        assert_eq!(
            err(&format!("vnc_listen = \"{v}\"")),
            format!("/r/etc/qemu.toml:1: key 'vnc_listen': '{v}' is neither an IP address nor a host name; use an address such as \"127.0.0.1\", \"0.0.0.0\" or \"::1\"")
        );
    }
}

#[test]
fn directory_values() {
    assert_eq!(
        err("plugin_dir = \"plugins\""),
        "/r/etc/qemu.toml:1: key 'plugin_dir': 'plugins' is not an absolute path; give a path starting with '/'"
    );
    assert_eq!(
        err("emulator_dirs = [\"/usr/bin\", \"bin\"]"),
        "/r/etc/qemu.toml:1: key 'emulator_dirs': 'bin' is not an absolute path; give a path starting with '/'"
    );
    assert_eq!(
        err("emulator_dirs = []"),
        "/r/etc/qemu.toml:1: key 'emulator_dirs': the list is empty, so no QEMU binary can be found; list at least one directory, e.g. [\"/usr/bin\"]"
    );
    assert!(err("emulator_dirs = [\"/usr/bin\", \"/usr/bin\"]").contains("listed twice"));
}

#[test]
fn timeout_values() {
    assert_eq!(
        err("destroy_grace_seconds = 3601"),
        "/r/etc/qemu.toml:1: key 'destroy_grace_seconds': 3601 is too large; use at most 3600"
    );
    assert_eq!(
        err("shutdown_timeout_seconds = 86401"),
        "/r/etc/qemu.toml:1: key 'shutdown_timeout_seconds': 86401 is too large; use at most 86400"
    );
}

#[test]
fn validate_checks_configs_built_in_code() {
    let c = QemuConfig {
        seccomp_sandbox: 5,
        ..QemuConfig::default()
    };
    assert_eq!(
        c.validate(Path::new(P)).unwrap_err().to_string(),
        "/r/etc/qemu.toml: key 'seccomp_sandbox': 5 is out of range; use -1 (QEMU's default), 0 (off) or 1 (on)"
    );
    let c = QemuConfig {
        security_driver: SecurityDriverSetting::List(vec!["none".into(), "dac".into()]),
        ..QemuConfig::default()
    };
    assert_eq!(
        c.validate(Path::new(P)).unwrap_err().key(),
        Some("security_driver")
    );
}
