//! qemu.toml: syntax errors, unknown keys and wrong types name file, line and key.

mod common;
use common::*;

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

const STRING_KEYS: &[&str] = &[
    "user",
    "group",
    "vnc_listen",
    "plugin_dir",
    "apparmor_profile_dir",
];

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
