//! End-to-end: external plugins loaded at run time. The sample security backend and the
//! test driver are built as cdylibs by `cargo build --workspace`
//! (`target/<profile>/[deps/]liboxvirt_security_sample.so`, `liboxvirt_driver_test_plugin.so`);
//! each test copies them into its own plugin directory and drives them through the
//! `oxvirt` CLI: `test:///default` finds its plugin through `$OXVIRT_PLUGIN_DIR`,
//! `qemu:///embed` through `plugin_dir` in the root's qemu.toml.
//!
//! `boot_*` tests boot the real test guest under TCG.

use oxvirt_tests::harness::{built_artifact, guest_domain_xml};
use oxvirt_tests::{GUEST_CMDLINE, GUEST_READY_MARKER};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn built(name: &str) -> PathBuf {
    built_artifact(name)
}

const SAMPLE: &str = "liboxvirt_security_sample.so";
const TEST_DRIVER: &str = "liboxvirt_driver_test_plugin.so";

/// libvirt 9's `virsh -c test:///default list --all`.
const VIRSH_TEST_LIST: &str = " Id   Name   State
----------------------
 1    test   running

";

/// A scratch directory (short path under /tmp: embed roots hold sockets).
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("oxp")
        .tempdir_in("/tmp")
        .unwrap()
}

/// A plugin directory inside `dir` holding copies of `plugins` (built cdylibs) plus
/// the broken files asked for.
fn plugin_dir(dir: &Path, plugins: &[&str], broken: bool) -> PathBuf {
    let p = dir.join("plugins");
    std::fs::create_dir_all(&p).unwrap();
    for name in plugins {
        std::fs::copy(built(name), p.join(name)).unwrap();
    }
    if broken {
        // Random bytes: not a shared object at all.
        let junk: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        std::fs::write(p.join("libbroken.so"), junk).unwrap();
        // A real shared object without the root module.
        let libm = [
            "/lib/x86_64-linux-gnu/libm.so.6",
            "/usr/lib/x86_64-linux-gnu/libm.so.6",
        ]
        .into_iter()
        .find(|f| Path::new(f).exists())
        .expect("libm.so.6");
        std::fs::copy(libm, p.join("libm.so")).unwrap();
    }
    p
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn oxvirt(uri: &str, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(built("oxvirt"));
    cmd.arg("-c").arg(uri).args(args);
    cmd.env_remove("OXVIRT_PLUGIN_DIR")
        .env_remove("OXVIRT_SAMPLE_RECORD")
        .env_remove("OXVIRT_SAMPLE_ABI_VERSION");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(uri: &str, args: &[&str], env: &[(&str, &str)]) -> Out {
    let o = oxvirt(uri, args, env);
    assert_eq!(
        o.code, 0,
        "oxvirt {args:?} failed:\n{}{}",
        o.stdout, o.stderr
    );
    o
}

#[test]
fn test_driver_plugin_lists_like_virsh() {
    let tmp = scratch();
    let dir = plugin_dir(tmp.path(), &[TEST_DRIVER, SAMPLE], false);
    let env = [("OXVIRT_PLUGIN_DIR", dir.to_str().unwrap())];
    let o = ok("test:///default", &["list", "--all"], &env);
    assert_eq!(o.stdout, VIRSH_TEST_LIST);
    assert_eq!(o.stderr, "", "no warnings for good plugins");

    // Where libvirt's virsh is installed, compare with it directly.
    if let Ok(v) = Command::new("virsh")
        .args(["-c", "test:///default", "list", "--all"])
        .output()
    {
        if v.status.success() {
            assert_eq!(o.stdout, String::from_utf8_lossy(&v.stdout));
        }
    }

    let xml = ok("test:///default", &["dumpxml", "test"], &env).stdout;
    assert!(
        xml.starts_with("<domain type='test' id='1'>\n  <name>test</name>\n  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"),
        "{xml}"
    );
    let info = ok("test:///default", &["dominfo", "test"], &env).stdout;
    assert!(info.contains("Max memory:     8388608 KiB\n"), "{info}");
    let v = ok("test:///default", &["version"], &env).stdout;
    assert!(v.contains("Running hypervisor: TEST 0.0.2"), "{v}");
    // Each CLI process starts from the initial state; within one it changes.
    let s = ok("test:///default", &["suspend", "test"], &env).stdout;
    assert_eq!(s, "Domain 'test' suspended\n\n");
}

#[test]
fn test_driver_is_not_built_in() {
    let tmp = scratch();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = oxvirt(
        "test:///default",
        &["list"],
        &[("OXVIRT_PLUGIN_DIR", empty.to_str().unwrap())],
    );
    assert_eq!(o.code, 1);
    assert!(
        o.stderr
            .contains("no connection driver available for URI 'test:///default'"),
        "{}",
        o.stderr
    );
}

#[test]
fn broken_plugins_are_warnings_and_the_others_still_load() {
    let tmp = scratch();
    let dir = plugin_dir(tmp.path(), &[TEST_DRIVER, SAMPLE], true);
    let o = ok(
        "test:///default",
        &["list", "--all"],
        &[("OXVIRT_PLUGIN_DIR", dir.to_str().unwrap())],
    );
    assert_eq!(o.stdout, VIRSH_TEST_LIST);
    let broken = dir.join("libbroken.so");
    let libm = dir.join("libm.so");
    assert!(
        o.stderr.contains(&format!(
            "warning: plugin '{}': cannot be loaded as a shared object: ",
            broken.display()
        )),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains(&format!(
            "warning: plugin '{}': is not an oxvirt plugin: it does not export abi_stable's root module",
            libm.display()
        )),
        "{}",
        o.stderr
    );
    assert_eq!(o.stderr.lines().count(), 2, "{}", o.stderr);
}

/// An embed root whose qemu.toml has `plugin_dir` and `security_driver`, with one
/// defined domain `vm` (its kernel need not exist: nothing here starts it).
fn embed_root(tmp: &Path, plugins: &Path, driver: &str) -> String {
    let root = tmp.join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/qemu.toml"),
        format!(
            "plugin_dir = \"{}\"\nsecurity_driver = \"{driver}\"\n",
            plugins.display()
        ),
    )
    .unwrap();
    root.display().to_string()
}

fn define_vm(uri: &str, tmp: &Path, env: &[(&str, &str)]) {
    let xml = tmp.join("vm.xml");
    std::fs::write(
        &xml,
        "<domain type='qemu'><name>vm</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type><kernel>/nonexistent/kernel</kernel></os>\
         </domain>",
    )
    .unwrap();
    ok(uri, &["define", xml.to_str().unwrap()], env);
}

#[test]
fn sample_backend_is_the_primary_security_model() {
    let tmp = scratch();
    let dir = plugin_dir(tmp.path(), &[SAMPLE], false);
    let uri = format!(
        "qemu:///embed?root={}",
        embed_root(tmp.path(), &dir, "sample")
    );
    define_vm(&uri, tmp.path(), &[]);
    let info = ok(&uri, &["dominfo", "vm"], &[]).stdout;
    assert!(info.contains("Security model: sample\n"), "{info}");
}

#[test]
fn selecting_a_backend_that_failed_to_load_is_an_error_naming_the_file() {
    let tmp = scratch();
    let dir = plugin_dir(tmp.path(), &[SAMPLE], true);
    let uri = format!(
        "qemu:///embed?root={}",
        embed_root(tmp.path(), &dir, "broken")
    );
    define_vm(&uri, tmp.path(), &[]);
    let o = oxvirt(&uri, &["dominfo", "vm"], &[]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    let broken = dir.join("libbroken.so").display().to_string();
    assert!(
        o.stderr.contains(&format!("warning: plugin '{broken}'")),
        "{}",
        o.stderr
    );
    let err: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    let err = err.join("\n");
    assert!(
        err.contains("Security driver 'broken' not found")
            && err.contains(&format!(
                "plugin '{broken}': cannot be loaded as a shared object"
            )),
        "{err}"
    );
}

#[test]
fn a_plugin_with_another_abi_version_is_refused() {
    let tmp = scratch();
    let dir = plugin_dir(tmp.path(), &[SAMPLE, TEST_DRIVER], false);
    let env = [
        ("OXVIRT_PLUGIN_DIR", dir.to_str().unwrap()),
        ("OXVIRT_SAMPLE_ABI_VERSION", "999"),
    ];
    // The other plugin still loads and serves its URI.
    let o = ok("test:///default", &["list", "--all"], &env);
    assert_eq!(o.stdout, VIRSH_TEST_LIST);
    let sample = dir.join(SAMPLE).display().to_string();
    assert!(
        o.stderr.contains(&format!(
            "warning: plugin '{sample}': plugin ABI version 999 does not match this oxvirt's ABI version 2"
        )),
        "{}",
        o.stderr
    );

    let uri = format!(
        "qemu:///embed?root={}",
        embed_root(tmp.path(), &dir, "sample")
    );
    define_vm(&uri, tmp.path(), &env);
    let o = oxvirt(&uri, &["dominfo", "vm"], &env);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr
            .contains("error: Security driver 'sample' not found")
            && o.stderr.contains("plugin ABI version 999"),
        "{}",
        o.stderr
    );
}

#[test]
fn boot_sample_security_plugin_sees_start_and_stop() {
    let tmp = scratch();
    let dir = plugin_dir(tmp.path(), &[SAMPLE], true);
    let root = embed_root(tmp.path(), &dir, "sample");
    let uri = format!("qemu:///embed?root={root}");
    let record = tmp.path().join("sample.record");
    let serial = tmp.path().join("boot.serial");
    let env = [("OXVIRT_SAMPLE_RECORD", record.to_str().unwrap())];
    let xml = tmp.path().join("boot.xml");
    std::fs::write(&xml, guest_domain_xml("boot", GUEST_CMDLINE, &serial, "")).unwrap();
    ok(&uri, &["define", xml.to_str().unwrap()], &env);
    let started = ok(&uri, &["start", "boot"], &env);
    assert_eq!(started.stdout, "Domain 'boot' started\n\n");
    // The broken files in plugin_dir are warnings only.
    assert!(
        started.stderr.contains("libbroken.so"),
        "{}",
        started.stderr
    );
    let booted =
        oxvirt_tests::wait_for_file_contains(&serial, GUEST_READY_MARKER, Duration::from_secs(60));
    let hooks = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.ends_with(" boot"))
            .map(|l| l.trim_end_matches(" boot").to_string())
            .collect()
    };
    let at_start = hooks(&std::fs::read_to_string(&record).unwrap_or_default());
    let destroyed = oxvirt(&uri, &["destroy", "boot"], &env);
    assert!(booted, "guest did not boot under the sample backend");
    assert_eq!(destroyed.code, 0, "{}", destroyed.stderr);
    // The confinement is planned (child_confinement) before anything is relabelled.
    assert_eq!(
        at_start,
        ["gen_label", "child_confinement", "set_all_labels"],
        "hooks at start"
    );
    let all = hooks(&std::fs::read_to_string(&record).unwrap());
    assert_eq!(
        all[3..],
        ["restore_all_labels", "release_label"],
        "hooks at stop: {all:?}"
    );
    let live = ok(&uri, &["domstate", "boot"], &env).stdout;
    assert_eq!(live, "shut off\n\n");
}
