//! Unit tests: defaults, locations, every key's parsing, every error message.

use super::*;

const P: &str = "/r/etc/qemu.toml";

fn parse(text: &str) -> Result<QemuConfig, ConfigError> {
    QemuConfig::parse(Path::new(P), text)
}

fn ok(text: &str) -> QemuConfig {
    parse(text).unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
}

fn err(text: &str) -> String {
    match parse(text) {
        Ok(c) => panic!("{text:?} should fail, parsed as {c:?}"),
        Err(e) => e.to_string(),
    }
}

// ---- defaults and locations -------------------------------------------------------

#[test]
fn defaults_are_libvirts() {
    let c = QemuConfig::default();
    assert_eq!(c.user, None);
    assert_eq!(c.group, None);
    assert!(c.dynamic_ownership);
    assert!(c.remember_owner);
    assert_eq!(c.security_driver, SecurityDriverSetting::Unset);
    assert!(c.security_default_confined);
    assert!(!c.security_require_confined);
    assert!(c.clear_emulator_capabilities);
    assert_eq!(c.cgroup_controllers, None);
    assert_eq!(c.cgroup_device_acl, None);
    assert_eq!(c.effective_cgroup_device_acl()[0], "/dev/null");
    assert!(c
        .effective_cgroup_device_acl()
        .contains(&"/dev/kvm".to_string()));
    assert_eq!(c.seccomp_sandbox, -1);
    assert_eq!(c.namespaces, vec!["mount"]);
    assert_eq!(c.max_processes, 0);
    assert_eq!(c.max_files, 0);
    assert_eq!(c.vnc_listen, "127.0.0.1");
    assert_eq!(c.plugin_dir, None);
    assert_eq!(c.emulator_dirs, vec![PathBuf::from("/usr/bin")]);
    assert_eq!(c.destroy_grace_seconds, 10);
    assert_eq!(c.shutdown_timeout_seconds, 300);
    c.validate(Path::new(P)).unwrap();
}

#[test]
fn empty_file_gives_defaults() {
    assert_eq!(ok(""), QemuConfig::default());
    assert_eq!(ok("# only a comment\n\n"), QemuConfig::default());
}

#[test]
fn session_defaults_have_no_namespaces() {
    assert!(QemuConfig::default_for(&Instance::Session)
        .namespaces
        .is_empty());
    assert_eq!(
        QemuConfig::default_for(&Instance::System),
        QemuConfig::default()
    );
    assert_eq!(
        QemuConfig::default_for(&Instance::Embed("/r".into())),
        QemuConfig::default()
    );
}

#[test]
fn config_paths() {
    let p = |i, x: Option<&str>, h: Option<&str>| {
        config_path_with(&i, x.map(PathBuf::from), h.map(PathBuf::from))
    };
    assert_eq!(
        p(Instance::System, Some("/x"), Some("/h")).unwrap(),
        PathBuf::from("/etc/oxvirt/qemu.toml")
    );
    assert_eq!(
        p(Instance::Embed("/r".into()), None, None).unwrap(),
        PathBuf::from("/r/etc/qemu.toml")
    );
    assert_eq!(
        p(Instance::Session, Some("/x"), Some("/h")).unwrap(),
        PathBuf::from("/x/oxvirt/qemu.toml")
    );
    assert_eq!(
        p(Instance::Session, None, Some("/h")).unwrap(),
        PathBuf::from("/h/.config/oxvirt/qemu.toml")
    );
    // XDG: a relative or empty XDG_CONFIG_HOME is ignored.
    assert_eq!(
        p(Instance::Session, Some("rel"), Some("/h")).unwrap(),
        PathBuf::from("/h/.config/oxvirt/qemu.toml")
    );
    assert_eq!(
        p(Instance::Session, Some(""), Some("/h")).unwrap(),
        PathBuf::from("/h/.config/oxvirt/qemu.toml")
    );
    assert!(matches!(
        p(Instance::Session, None, None),
        Err(ConfigError::NoConfigDir)
    ));
}

#[test]
fn load_embed_reads_root_etc_qemu_toml_and_missing_file_is_defaults() {
    let root = tempfile::tempdir().unwrap();
    let inst = Instance::Embed(root.path().to_path_buf());
    assert_eq!(QemuConfig::load(&inst).unwrap(), QemuConfig::default());
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::write(root.path().join("etc/qemu.toml"), "max_files = 4096\n").unwrap();
    assert_eq!(QemuConfig::load(&inst).unwrap().max_files, 4096);

    std::fs::write(
        root.path().join("etc/qemu.toml"),
        "\nmax_files = \"many\"\n",
    )
    .unwrap();
    let e = QemuConfig::load(&inst).unwrap_err().to_string();
    let want = format!(
        "{}:2: key 'max_files': expected a non-negative integer, found a string",
        root.path().join("etc/qemu.toml").display()
    );
    assert_eq!(e, want);
}

#[test]
fn unreadable_and_non_utf8_files() {
    let dir = tempfile::tempdir().unwrap();
    // A directory cannot be read as a file.
    let e = QemuConfig::load_or_default(dir.path()).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e}");
    let f = dir.path().join("qemu.toml");
    std::fs::write(&f, b"user = \"a\"\ngroup = \"\xff\"\n").unwrap();
    let e = QemuConfig::load_or_default(&f).unwrap_err();
    assert_eq!(e.line(), Some(2));
    assert!(e.to_string().contains("not valid UTF-8"), "{e}");
}

// ---- every key parses -------------------------------------------------------------

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

#[test]
fn keys_not_in_the_file_keep_the_base() {
    let base = QemuConfig::default_for(&Instance::Session);
    let c = QemuConfig::parse_over(base, Path::new(P), "max_files = 7").unwrap();
    assert!(c.namespaces.is_empty());
    assert_eq!(c.max_files, 7);
}

// ---- errors: syntax, unknown keys, wrong types ------------------------------------

#[test]
fn unknown_key_names_file_line_key_and_known_keys() {
    let e = err("user = \"qemu\"\n\nusr = \"qemu\"\n");
    assert_eq!(
        e,
        format!(
            "/r/etc/qemu.toml:3: unknown key 'usr' (known keys: {})",
            KNOWN_KEYS.join(", ")
        )
    );
    assert!(e.starts_with("/r/etc/qemu.toml:3: unknown key 'usr' (known keys: user, group, "));
    let e = parse("\n\nvnc_keymap = \"en-us\"").unwrap_err();
    assert_eq!(e.line(), Some(3));
    assert_eq!(e.key(), Some("vnc_keymap"));
}

#[test]
fn tables_are_unknown_keys_or_wrong_types() {
    assert!(err("[qemu]\nuser = \"x\"").starts_with("/r/etc/qemu.toml:1: unknown key 'qemu'"));
    assert_eq!(
        err("\n[user]\nname = \"x\""),
        "/r/etc/qemu.toml:2: key 'user': expected a string in double quotes, found a table"
    );
    assert_eq!(
        err("user.name = \"x\""),
        "/r/etc/qemu.toml:1: key 'user': expected a string in double quotes, found a table"
    );
}

#[test]
fn first_error_in_file_order_is_reported() {
    // BTreeMap order would put 'aaa' first; the file has 'zzz' on line 1.
    let e = err("zzz = 1\naaa = 2\n");
    assert!(
        e.starts_with("/r/etc/qemu.toml:1: unknown key 'zzz'"),
        "{e}"
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let e = parse("user = \"qemu\"\ngroup = \n").unwrap_err();
    assert!(matches!(e, ConfigError::Syntax { .. }), "{e}");
    assert_eq!(e.line(), Some(2), "{e}");
    assert!(e.to_string().starts_with("/r/etc/qemu.toml:2: "), "{e}");
    assert!(
        e.to_string()
            .ends_with("(fix the TOML syntax on that line)"),
        "{e}"
    );
    // qemu.conf syntax is not TOML: an unquoted word is a syntax error.
    let e = parse("\n\n\nuser = qemu\n").unwrap_err();
    assert_eq!(e.line(), Some(4), "{e}");
    // A key given twice.
    let e = parse("max_files = 1\nmax_files = 2\n").unwrap_err();
    assert_eq!(e.line(), Some(2), "{e}");
}

const BOOL_KEYS: &[&str] = &[
    "dynamic_ownership",
    "remember_owner",
    "security_default_confined",
    "security_require_confined",
    "clear_emulator_capabilities",
];
const STRING_KEYS: &[&str] = &["user", "group", "vnc_listen", "plugin_dir"];
const LIST_KEYS: &[&str] = &[
    "cgroup_controllers",
    "cgroup_device_acl",
    "namespaces",
    "emulator_dirs",
];
const UNSIGNED_KEYS: &[&str] = &[
    "max_processes",
    "max_files",
    "destroy_grace_seconds",
    "shutdown_timeout_seconds",
];

#[test]
fn every_key_is_covered_by_the_type_tests() {
    let mut all: Vec<&str> = [BOOL_KEYS, STRING_KEYS, LIST_KEYS, UNSIGNED_KEYS].concat();
    all.extend(["security_driver", "seccomp_sandbox"]);
    all.sort();
    let mut known = KNOWN_KEYS.to_vec();
    known.sort();
    assert_eq!(all, known);
}

#[test]
fn wrong_types_name_file_line_key_expected_and_found() {
    for k in BOOL_KEYS {
        assert_eq!(
            err(&format!("\n\n\n\n{k} = \"yes\"")),
            format!(
                "/r/etc/qemu.toml:5: key '{k}': expected a boolean (true or false), found a string"
            )
        );
        assert_eq!(
            err(&format!("{k} = 1")),
            format!("/r/etc/qemu.toml:1: key '{k}': expected a boolean (true or false), found an integer")
        );
    }
    for k in STRING_KEYS {
        assert_eq!(
            err(&format!("{k} = 107")),
            format!("/r/etc/qemu.toml:1: key '{k}': expected a string in double quotes, found an integer")
        );
        assert_eq!(
            err(&format!("{k} = [\"a\"]")),
            format!(
                "/r/etc/qemu.toml:1: key '{k}': expected a string in double quotes, found a list"
            )
        );
    }
    for k in LIST_KEYS {
        assert_eq!(
            err(&format!("{k} = \"x\"")),
            format!("/r/etc/qemu.toml:1: key '{k}': expected a list of strings, e.g. [\"a\", \"b\"], found a string")
        );
        assert_eq!(
            err(&format!("{k} = [\n  \"/dev/x\",\n  1,\n]")),
            format!("/r/etc/qemu.toml:1: key '{k}': expected a list of strings, e.g. [\"a\", \"b\"], found a list containing an integer")
        );
    }
    for k in UNSIGNED_KEYS {
        assert_eq!(
            err(&format!("{k} = \"10\"")),
            format!(
                "/r/etc/qemu.toml:1: key '{k}': expected a non-negative integer, found a string"
            )
        );
        assert_eq!(
            err(&format!("{k} = 1.5")),
            format!(
                "/r/etc/qemu.toml:1: key '{k}': expected a non-negative integer, found a float"
            )
        );
        assert_eq!(
            err(&format!("{k} = -1")),
            format!("/r/etc/qemu.toml:1: key '{k}': -1 is negative; use 0 or a positive integer")
        );
    }
    assert_eq!(
        err("seccomp_sandbox = true"),
        "/r/etc/qemu.toml:1: key 'seccomp_sandbox': expected an integer, found a boolean"
    );
    assert_eq!(
        err("security_driver = 1"),
        "/r/etc/qemu.toml:1: key 'security_driver': expected a string or a list of strings, found an integer"
    );
    assert_eq!(
        err("security_driver = [\"dac\", false]"),
        "/r/etc/qemu.toml:1: key 'security_driver': expected a string or a list of strings, found a list containing a boolean"
    );
    assert_eq!(
        err("security_driver = { name = \"dac\" }"),
        "/r/etc/qemu.toml:1: key 'security_driver': expected a string or a list of strings, found a table"
    );
    let e = parse("max_files = 1979-05-27").unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::WrongType {
                found: "a date-time",
                ..
            }
        ),
        "{e}"
    );
}

// ---- errors: invalid values --------------------------------------------------------

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

// ---- the example file and the documentation ----------------------------------------

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

#[test]
fn example_file_parses_and_sets_non_default_values() {
    let path = docs().join("qemu.toml.example");
    let c = QemuConfig::load_or_default(&path).unwrap();
    c.validate(&path).unwrap();
    // Uncommenting every `#key = value` line gives a valid file too.
    let text = std::fs::read_to_string(&path).unwrap();
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest)
                if rest
                    .split('=')
                    .next()
                    .is_some_and(|k| KNOWN_KEYS.contains(&k.trim())) =>
            {
                rest
            }
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let all = QemuConfig::parse(&path, &uncommented).unwrap();
    assert_ne!(all, QemuConfig::default());
    for key in KNOWN_KEYS {
        assert!(
            uncommented
                .lines()
                .any(|l| l.starts_with(&format!("{key} ="))),
            "docs/qemu.toml.example does not show '{key}'"
        );
    }
}

#[test]
fn every_key_is_documented() {
    let doc = std::fs::read_to_string(docs().join("configuration.md")).unwrap();
    for key in KNOWN_KEYS {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/configuration.md does not document '{key}'"
        );
    }
}

// ---- the loader never panics ---------------------------------------------------------

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("true".to_string()),
            Just("\"\"".to_string()),
            Just("[]".to_string()),
            Just("{}".to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| format!("{f:?}")),
            "[a-z+/0-9 .:-]{0,12}".prop_map(|s| format!("{s:?}")),
            proptest::collection::vec("[a-z/+0-9.-]{0,8}", 0..4).prop_map(|v| format!("{v:?}")),
            ".{0,16}",
        ]
    }

    fn line() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            proptest::sample::select(KNOWN_KEYS).prop_map(str::to_string),
            "[a-z_.\\[\\]]{1,12}",
        ];
        (key, value()).prop_map(|(k, v)| format!("{k} = {v}"))
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC*") {
            let _ = QemuConfig::parse(Path::new(P), &text);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let dir = tempfile::tempdir().unwrap();
            let f = dir.path().join("qemu.toml");
            std::fs::write(&f, &bytes).unwrap();
            let _ = QemuConfig::load_or_default(&f).map(|c| c.validate(&f));
        }

        #[test]
        fn plausible_files_never_panic_and_errors_have_lines(
            lines in proptest::collection::vec(line(), 0..8)
        ) {
            let text = lines.join("\n");
            match QemuConfig::parse(Path::new(P), &text) {
                Ok(c) => prop_assert!(c.validate(Path::new(P)).is_ok()),
                Err(e) => {
                    let msg = e.to_string();
                    prop_assert!(msg.starts_with("/r/etc/qemu.toml"), "{}", msg);
                    if !matches!(e, ConfigError::Syntax { .. }) {
                        prop_assert!(e.line().is_some(), "{}", msg);
                        prop_assert!(e.key().is_some(), "{}", msg);
                    }
                }
            }
        }
    }
}
