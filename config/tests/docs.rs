//! The example files parse, show every key, and every key is documented.

mod common;
use common::*;

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

/// The example file `name` with every `#key = value` line of `keys` uncommented; fails
/// if a key is not shown.
fn uncommented(name: &str, keys: &[&str]) -> String {
    let text = std::fs::read_to_string(docs().join(name)).unwrap();
    let out = text
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest)
                if rest
                    .split('=')
                    .next()
                    .is_some_and(|k| keys.contains(&k.trim())) =>
            {
                rest
            }
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    for key in keys {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("{key} ="))),
            "docs/{name} does not show '{key}'"
        );
    }
    out
}

fn documented(keys: &[&str]) {
    let doc = std::fs::read_to_string(docs().join("configuration.md")).unwrap();
    for key in keys {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/configuration.md does not document '{key}'"
        );
    }
}

#[test]
fn example_file_parses_and_sets_non_default_values() {
    let path = docs().join("qemu.toml.example");
    let c = QemuConfig::load_or_default(&path).unwrap();
    c.validate(&path).unwrap();
    // Uncommenting every `#key = value` line gives a valid file too.
    let all = QemuConfig::parse(&path, &uncommented("qemu.toml.example", KNOWN_KEYS)).unwrap();
    assert_ne!(all, QemuConfig::default());
}

#[test]
fn every_key_is_documented() {
    documented(KNOWN_KEYS);
    documented(DAEMON_KEYS);
}

#[test]
fn daemon_example_file_parses_and_shows_every_key() {
    let path = docs().join("oxvirtd.toml.example");
    assert_eq!(
        DaemonConfig::load(&path).unwrap(),
        DaemonConfig::default(),
        "every line of the example is commented out"
    );
    let text = uncommented("oxvirtd.toml.example", DAEMON_KEYS);
    let all = DaemonConfig::parse(&path, &text).unwrap();
    all.validate(&path).unwrap();
    assert_ne!(all, DaemonConfig::default());
}
