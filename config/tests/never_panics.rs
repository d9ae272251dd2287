//! The loader never panics, on any text or bytes.

mod common;

mod prop {
    use super::common::*;
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

    fn daemon_line() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            proptest::sample::select(DAEMON_KEYS).prop_map(str::to_string),
            "[a-z_]{1,12}",
        ];
        (key, value()).prop_map(|(k, v)| format!("{k} = {v}"))
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
            let _ = DaemonConfig::parse(Path::new(P), &text);
        }

        #[test]
        fn plausible_daemon_files_never_panic_and_errors_have_lines(
            lines in proptest::collection::vec(daemon_line(), 0..8)
        ) {
            let text = lines.join("\n");
            match DaemonConfig::parse(Path::new(P), &text) {
                Ok(c) => prop_assert!(c.validate(Path::new(P)).is_ok()),
                Err(e) => {
                    if !matches!(e, ConfigError::Syntax { .. }) {
                        prop_assert!(e.line().is_some() && e.key().is_some(), "{}", e);
                    }
                }
            }
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
