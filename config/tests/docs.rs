//! The example file parses, and every key is documented.

mod common;
use common::*;

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
