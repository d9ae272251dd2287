//! qemu.toml: defaults, where the file is, loading, missing and unreadable files.

mod common;
use common::*;

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

#[test]
fn keys_not_in_the_file_keep_the_base() {
    let base = QemuConfig::default_for(&Instance::Session);
    let c = QemuConfig::parse_over(base, Path::new(P), "max_files = 7").unwrap();
    assert!(c.namespaces.is_empty());
    assert_eq!(c.max_files, 7);
}

#[test]
fn sections_own_every_key_once() {
    let mut owned: Vec<&str> = sections::qemu().concat();
    owned.sort();
    let mut known = KNOWN_KEYS.to_vec();
    known.sort();
    assert_eq!(owned, known);
}
