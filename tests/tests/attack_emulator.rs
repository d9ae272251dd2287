//! Attack (issue 9.2): a caller-supplied emulator is never executed unless it is a QEMU
//! of qemu.toml's `emulator_dirs`. The root's `emulator_dirs` is `ROOT/bin`, holding a
//! real QEMU (a link to `/usr/bin/qemu-system-x86_64`) and a marker script named `evil`;
//! more marker scripts sit outside it, one with a QEMU name. Every way in —
//! `domcapabilities --emulatorbin`, `<emulator>` in define, create, start (a definition
//! planted by hand, as an older build could have accepted) and domxml-to-native, with
//! plain paths, `..` and symlinks — is refused with an error naming the path and
//! `emulator_dirs`, leaves nothing behind, and the marker file is never written. The
//! real QEMU named through `emulator_dirs` works.

use oxvirt_tests::harness::{require, EmbedRoot};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

struct Setup {
    root: EmbedRoot,
    marker: PathBuf,
    bin: PathBuf,
}

fn script(path: &Path, marker: &Path) {
    std::fs::write(
        path,
        format!("#!/bin/sh\necho ran \"$@\" >> {}\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn setup() -> Setup {
    require("/usr/bin/qemu-system-x86_64", "qemu-system-x86");
    let root = EmbedRoot::new("oxe");
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(
        "/usr/bin/qemu-system-x86_64",
        bin.join("qemu-system-x86_64"),
    )
    .unwrap();
    let marker = root.path().join("MARKER");
    script(&bin.join("evil"), &marker);
    script(&root.path().join("evil.sh"), &marker);
    script(&root.path().join("qemu-system-x86_64"), &marker);
    std::os::unix::fs::symlink(bin.join("evil"), root.path().join("qemu-kvm")).unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    root.write(
        "etc/qemu.toml",
        &format!("emulator_dirs = [\"{}\"]\n", bin.display()),
    );
    Setup { root, marker, bin }
}

fn domain(name: &str, emulator: &str) -> String {
    format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>32</memory>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os>\
         <devices><emulator>{emulator}</emulator></devices></domain>"
    )
}

/// The error names the path and emulator_dirs.
fn assert_refused(s: &Setup, o: &oxvirt_tests::harness::Out, path: &str) {
    assert_eq!(o.code, 1, "{path}: {}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains(path), "{}", o.stderr);
    assert!(
        o.stderr
            .contains(&format!("emulator_dirs ({})", s.bin.display())),
        "{}",
        o.stderr
    );
}

fn attacks(s: &Setup) -> Vec<String> {
    let r = s.root.path();
    vec![
        r.join("evil.sh").display().to_string(),
        s.bin.join("evil").display().to_string(),
        r.join("qemu-system-x86_64").display().to_string(),
        r.join("qemu-kvm").display().to_string(),
        format!("{}/../evil.sh", s.bin.display()),
    ]
}

#[test]
fn attack_foreign_emulators_are_refused_and_never_run() {
    let s = setup();
    for (i, path) in attacks(&s).iter().enumerate() {
        let o = s.root.run(&["domcapabilities", "--emulatorbin", path]);
        assert_refused(&s, &o, path);

        let name = format!("evil{i}");
        let xml = s.root.write(&format!("{name}.xml"), &domain(&name, path));
        for verb in [
            vec!["define", xml.as_str()],
            vec!["create", xml.as_str()],
            vec!["domxml-to-native", "qemu-argv", xml.as_str()],
        ] {
            let o = s.root.run(&verb);
            assert_refused(&s, &o, path);
        }
        assert!(!s.root.path().join(format!("etc/qemu/{name}.xml")).exists());

        // A definition planted by hand (an older build accepted it): start refuses it.
        std::fs::write(
            s.root.path().join(format!("etc/qemu/{name}.xml")),
            domain(&name, path),
        )
        .unwrap();
        let o = s.root.run(&["start", &name]);
        assert_refused(&s, &o, path);
        for leftover in ["xml", "journal"] {
            let f = s.root.path().join(format!("run/qemu/{name}.{leftover}"));
            assert!(!f.exists(), "{}", f.display());
        }
        assert_eq!(s.root.state(&name), "shut off (unknown)");
    }
    // The host capabilities probe only QEMU names in emulator_dirs: `evil` is not one.
    s.root.ok(&["capabilities"]);
    assert!(
        !s.marker.exists(),
        "a refused emulator was executed: {}",
        std::fs::read_to_string(&s.marker).unwrap_or_default()
    );
}

#[test]
fn the_qemu_in_emulator_dirs_is_used_by_its_path_there() {
    let s = setup();
    let qemu = s.bin.join("qemu-system-x86_64").display().to_string();
    let x = s.root.ok(&[
        "domcapabilities",
        "--emulatorbin",
        &qemu,
        "--virttype",
        "qemu",
    ]);
    assert!(x.contains(&format!("<path>{qemu}</path>")), "{x}");
    // Named through a link of its own, the binary in emulator_dirs is what runs.
    let link = s.root.path().join("my-qemu");
    std::os::unix::fs::symlink(&qemu, &link).unwrap();
    let xml = s
        .root
        .write("good.xml", &domain("good", link.to_str().unwrap()));
    let argv = s.root.ok(&["domxml-to-native", "qemu-argv", &xml]);
    assert!(argv.contains(&format!("{qemu} -name guest=good")), "{argv}");
    s.root.ok(&["define", &xml]);
    assert!(!s.marker.exists());
}
