//! `oxvirt-aa-helper` as a program on the build host (no AppArmor kernel here: profiles
//! are compiled with the real `apparmor_parser -Q -K`, never loaded): the test domains
//! give profiles that compile, each refused-path class is refused with its reason, a
//! dry run writes nothing, and the exit statuses are those of the installed
//! `/usr/lib/libvirt/virt-aa-helper` on the same inputs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const HELPER: &str = env!("CARGO_BIN_EXE_oxvirt-aa-helper");
const LIBVIRT_HELPER: &str = "/usr/lib/libvirt/virt-aa-helper";
const UUID: &str = "11111111-2222-3333-4444-555555555555";
const PROFILE: &str = "libvirt-11111111-2222-3333-4444-555555555555";

struct Out {
    status: i32,
    stdout: String,
    stderr: String,
}

fn run(bin: &str, args: &[&str], xml: Option<&str>) -> Out {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{bin}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    if let Some(x) = xml {
        // The helper may exit before reading (a bad option): a broken pipe is fine.
        let _ = stdin.write_all(x.as_bytes());
    }
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    Out {
        status: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    }
}

/// A domain with one writable disk at `disk` (and optionally more devices).
fn domain(disk: &str, more: &str) -> String {
    domain_named("t1", disk, more)
}

fn domain_named(name: &str, disk: &str, more: &str) -> String {
    format!(
        "<domain type='kvm'><name>{name}</name><uuid>{UUID}</uuid><memory>65536</memory>\
         <os><type>hvm</type></os><devices><disk type='file' device='disk'>\
         <source file='{disk}'/><target dev='vda' bus='virtio'/></disk>{more}</devices>\
         </domain>"
    )
}

fn parser() -> &'static str {
    ["/sbin/apparmor_parser", "/usr/sbin/apparmor_parser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("apparmor_parser is installed on the build host")
}

/// `apparmor_parser -Q -K` on `profile`: Ok, or its complaint.
fn compiles(profile: &Path) -> Result<(), String> {
    let o = Command::new(parser())
        .args(["-Q", "-K"])
        .arg(profile)
        .output()
        .unwrap();
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into())
    }
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../core/tests/data");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    v.sort();
    v
}

fn uuid_of(xml: &str) -> Option<&str> {
    let at = xml.find("<uuid>")? + "<uuid>".len();
    Some(&xml[at..at + 36])
}

/// The fixtures the helper refuses, and why (libvirt's helper refuses them too).
const REFUSED: &[(&str, &str)] = &[(
    "boot-order-devices.xml",
    "the loader: '/usr/share/seabios/bios.bin' is under /usr/share",
)];

#[test]
fn test_domains_give_profiles_that_compile() {
    let mut compiled = 0;
    for f in fixtures() {
        let xml = std::fs::read_to_string(&f).unwrap();
        let Some(uuid) = uuid_of(&xml) else { continue };
        let name = f.file_name().unwrap().to_str().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pd = dir.path().join("libvirt");
        let profile = format!("libvirt-{uuid}");
        let pd_arg = pd.to_str().unwrap();
        let args = [
            "-c",
            "-u",
            &profile,
            "--profile-dir",
            pd_arg,
            "--compile-only",
        ];
        let o = run(HELPER, &args, Some(&xml));
        if let Some((_, why)) = REFUSED.iter().find(|(n, _)| *n == name) {
            assert_eq!(o.status, 1, "{name}: {}", o.stderr);
            assert!(o.stderr.contains(why), "{name}: {}", o.stderr);
            assert!(
                !pd.join(&profile).exists(),
                "{name}: a refused VM has no profile"
            );
            continue;
        }
        assert_eq!(o.status, 0, "{name}: {}", o.stderr);
        let path = pd.join(&profile);
        compiles(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rules = std::fs::read_to_string(pd.join(format!("{profile}.files"))).unwrap();
        assert!(rules.starts_with("# DO NOT EDIT"), "{name}: {rules}");
        compiled += 1;
    }
    assert!(compiled >= 15, "only {compiled} fixtures compiled");
}

#[test]
fn a_profile_names_the_vm_and_its_paths_with_their_modes() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("img");
    std::fs::create_dir(&img).unwrap();
    let (a, ro, k) = (img.join("a.img"), img.join("ro.img"), img.join("vmlinuz"));
    let pd = dir.path().join("profiles");
    let more = format!(
        "<disk type='file' device='disk'><source file='{}'/><target dev='vdb'/><readonly/></disk>\
         <serial type='unix'><source mode='bind' path='{}/ser.sock'/></serial>",
        ro.display(),
        img.display()
    );
    let xml = domain(a.to_str().unwrap(), &more).replace(
        "<os><type>hvm</type></os>",
        &format!("<os><type>hvm</type><kernel>{}</kernel></os>", k.display()),
    );
    let vm_dir = dir.path().join("run/domain-1-t1");
    let log = dir.path().join("log/t1.log");
    let args = [
        "-c",
        "-u",
        PROFILE,
        "--compile-only",
        "--complain",
        "--profile-dir",
        pd.to_str().unwrap(),
        "--vm-dir",
        vm_dir.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
    ];
    let o = run(HELPER, &args, Some(&xml));
    assert_eq!(o.status, 0, "{}", o.stderr);
    let profile = std::fs::read_to_string(pd.join(PROFILE)).unwrap();
    assert!(
        profile.contains(&format!(
            "profile {PROFILE} flags=(complain,attach_disconnected)"
        )),
        "{profile}"
    );
    assert!(profile.contains(&format!("#include \"{}/{PROFILE}.files\"", pd.display())));
    assert!(profile.contains(&format!(
        "include if exists \"{}/local/{PROFILE}\"",
        pd.display()
    )));
    let rules = std::fs::read_to_string(pd.join(format!("{PROFILE}.files"))).unwrap();
    for want in [
        format!("\"{}\" rwk,", a.display()),
        format!("\"{}\" rk,", ro.display()),
        format!("deny \"{}\" w,", ro.display()),
        format!("\"{}\" r,", k.display()),
        format!("\"{}/ser.sock\" rw,", img.display()),
        format!("\"{}/\" rw,", vm_dir.display()),
        format!("\"{}/**\" rwk,", vm_dir.display()),
        format!("\"{}\" w,", log.display()),
    ] {
        assert!(rules.contains(&want), "no `{want}` in\n{rules}");
    }
    assert!(
        !rules.contains("/var/lib/libvirt"),
        "oxvirt's dirs replace libvirt's"
    );
    compiles(&pd.join(PROFILE)).unwrap();
    hotplug_then_delete(&pd, &img, &xml, &rules);
}

/// `-F` appends one rule, `-r` regenerates them, `-D` deletes the VM's files.
fn hotplug_then_delete(pd: &Path, img: &Path, xml: &str, rules: &str) {
    // -F appends one rule; -r without it regenerates the rules from the XML.
    let hot = img.join("hot.img");
    let pda = pd.to_str().unwrap();
    let hot_arg = hot.to_str().unwrap();
    let o = run(
        HELPER,
        &[
            "-r",
            "-u",
            PROFILE,
            "--compile-only",
            "--profile-dir",
            pda,
            "-F",
            hot_arg,
        ],
        Some(xml),
    );
    assert_eq!(o.status, 0, "{}", o.stderr);
    let rules2 = std::fs::read_to_string(pd.join(format!("{PROFILE}.files"))).unwrap();
    assert_eq!(rules2, format!("{rules}  \"{}\" rwk,\n", hot.display()));
    let o = run(
        HELPER,
        &["-r", "-u", PROFILE, "--compile-only", "--profile-dir", pda],
        Some(xml),
    );
    assert_eq!(o.status, 0, "{}", o.stderr);
    let rules3 = std::fs::read_to_string(pd.join(format!("{PROFILE}.files"))).unwrap();
    assert!(!rules3.contains("hot.img"), "{rules3}");
    // -D deletes the profile and its rules, and the local override is left alone.
    std::fs::write(pd.join("local").join(PROFILE), "  /srv/extra r,\n").unwrap();
    let o = run(
        HELPER,
        &["-D", "-u", PROFILE, "--compile-only", "--profile-dir", pda],
        None,
    );
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert!(!pd.join(PROFILE).exists() && !pd.join(format!("{PROFILE}.files")).exists());
    assert!(pd.join("local").join(PROFILE).exists());
    assert!(pd.join("TEMPLATE.qemu").exists() && pd.join("abstractions/oxvirt-qemu").exists());
}

/// A domain whose disk is `disk` is refused with `why`.
#[track_caller]
fn refused(pd: &Path, xml: &str, why: &str) {
    let args = [
        "-c",
        "-u",
        PROFILE,
        "--compile-only",
        "--profile-dir",
        pd.to_str().unwrap(),
    ];
    let o = run(HELPER, &args, Some(xml));
    assert_eq!(o.status, 1, "{xml}: {}", o.stderr);
    assert!(
        o.stderr.starts_with("oxvirt-aa-helper: error: ") && o.stderr.contains(why),
        "{xml}: want `{why}`, got {}",
        o.stderr
    );
    assert!(!pd.join(PROFILE).exists(), "a refused VM leaves no profile");
    assert!(!pd.join(format!("{PROFILE}.files")).exists());
}

#[test]
fn each_refused_path_class_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let pd = dir.path().join("profiles");
    let link = dir.path().join("etc-link");
    std::os::unix::fs::symlink("/etc", &link).unwrap();
    let through_link = format!("{}/shadow", link.display());
    let in_pd = format!("{}/x.img", pd.display());
    for (disk, why) in [
        ("/etc/passwd", "'/etc/passwd' is under /etc"),
        (
            "/boot/x.img",
            "'/boot/x.img' is under /boot, which QEMU may not write",
        ),
        ("/proc/self/mem", "is under /proc"),
        ("/sys/kernel/mm/x", "is under /sys"),
        ("/usr/lib/x.img", "is under /usr/lib"),
        (through_link.as_str(), "is under /etc"),
        (in_pd.as_str(), "inside the AppArmor profile directory"),
        ("/tmp/a\"b.img", "double quote"),
    ] {
        refused(&pd, &domain(disk, ""), why);
    }
    refused(&pd, &domain_named("a*b", "/tmp/a.img", ""), "bad name");
    let ro_boot = "<disk type='file' device='disk'><source file='/boot/initrd.img'/>\
                   <target dev='vdb'/><readonly/></disk>";
    let o = run(
        HELPER,
        &["-d", "-c", "-u", PROFILE],
        Some(&domain("/tmp/a.img", ro_boot)),
    );
    assert_eq!(
        o.status, 0,
        "read-only under /boot is allowed: {}",
        o.stderr
    );
    // Pattern characters in a file name are escaped, not refused: the rule names it only.
    let o = run(
        HELPER,
        &["-d", "-c", "-u", PROFILE],
        Some(&domain("/tmp/a*b{c}.img", "")),
    );
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains(r#""/tmp/a\*b\{c\}.img" rwk,"#),
        "{}",
        o.stdout
    );
}

#[test]
fn a_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pd = dir.path().join("profiles");
    let pda = pd.to_str().unwrap();
    let xml = domain("/tmp/a.img", "");
    for mode in ["-c", "-r"] {
        let o = run(
            HELPER,
            &["-d", mode, "-u", PROFILE, "--profile-dir", pda],
            Some(&xml),
        );
        assert_eq!(o.status, 0, "{}", o.stderr);
        assert!(o.stdout.contains("\"/tmp/a.img\" rwk,"), "{}", o.stdout);
        assert!(
            o.stdout.contains(&format!("profile {PROFILE} ")),
            "{}",
            o.stdout
        );
    }
    assert!(!pd.exists(), "a dry run created {}", pd.display());
    // With a profile in place, dry -D and -R leave it.
    let args = ["-c", "-u", PROFILE, "--profile-dir", pda, "--compile-only"];
    assert_eq!(run(HELPER, &args, Some(&xml)).status, 0);
    let before: Vec<_> = std::fs::read_dir(&pd)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for mode in ["-D", "-R", "-a"] {
        let o = run(
            HELPER,
            &["-d", mode, "-u", PROFILE, "--profile-dir", pda],
            None,
        );
        assert_eq!(o.status, 0, "{mode}: {}", o.stderr);
    }
    let o = run(
        HELPER,
        &[
            "-d",
            "-r",
            "-u",
            PROFILE,
            "--profile-dir",
            pda,
            "-f",
            "/tmp/h.img",
        ],
        Some(&xml),
    );
    assert_eq!(o.status, 0, "{}", o.stderr);
    let after: Vec<_> = std::fs::read_dir(&pd)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(before, after);
    assert!(pd.join(PROFILE).exists());
}

#[test]
fn exit_statuses_are_virt_aa_helpers() {
    assert!(
        Path::new(LIBVIRT_HELPER).exists(),
        "libvirt-daemon is installed here"
    );
    let good = domain("/tmp/a.img", "");
    let other_uuid = good.replace(UUID, "11111111-2222-3333-4444-555555555556");
    let not_xml = "<domain";
    let cases: Vec<(Vec<&str>, Option<String>)> = vec![
        (vec!["-d", "-c", "-u", PROFILE], Some(good.clone())),
        (vec!["-d", "-r", "-u", PROFILE], Some(good.clone())),
        (
            vec!["-d", "-r", "-u", PROFILE, "-f", "/tmp/hot.img"],
            Some(good.clone()),
        ),
        (
            vec!["-d", "-c", "-u", PROFILE, "-F", "/tmp/hot.img"],
            Some(good.clone()),
        ),
        (
            vec!["-d", "-r", "-u", PROFILE, "-f", "/etc/shadow"],
            Some(good.clone()),
        ),
        (vec!["-d", "-c", "-u", PROFILE], None),
        (vec!["-d", "-c", "-u", PROFILE], Some(not_xml.into())),
        (vec!["-d", "-c", "-u", "libvirt-xyz"], Some(good.clone())),
        (vec!["-d", "-c", "-u", UUID], Some(good.clone())),
        (vec!["-d", "-c", "-u", PROFILE], Some(other_uuid)),
        (vec!["-d", "-c"], Some(good.clone())),
        (vec!["-d", "-u", PROFILE], Some(good.clone())),
        (vec!["-d", "-x", "-u", PROFILE], Some(good.clone())),
        (vec!["-d", "-R", "-u", PROFILE], None),
        (vec!["-d", "-D", "-u", PROFILE], None),
        (vec!["-d", "-a", "-u", PROFILE], None),
        (vec!["-h"], None),
        (
            vec!["-d", "-c", "-u", PROFILE],
            Some(domain("/etc/passwd", "")),
        ),
        (
            vec!["-d", "-c", "-u", PROFILE],
            Some(domain("/boot/x.img", "")),
        ),
        (
            vec!["-d", "-c", "-u", PROFILE],
            Some(domain("/proc/self/mem", "")),
        ),
        (
            vec!["-d", "-c", "-u", PROFILE],
            Some(domain("/sys/devices/pci0000:00/x", "")),
        ),
        (
            vec!["-d", "-c", "-u", PROFILE],
            Some(domain("/tmp/a\"b.img", "")),
        ),
        (
            vec!["-d", "-c", "-u", PROFILE],
            Some(domain("/tmp/a*b.img", "")),
        ),
        (vec!["-d", "-c", "-u", PROFILE], Some(domain("a.img", ""))),
        (
            vec!["-d", "-c", "-u", PROFILE],
            Some(domain_named("t[1", "/tmp/a.img", "")),
        ),
        (
            vec!["-d", "-c", "-u", PROFILE],
            Some(domain("/etc/apparmor.d/libvirt/x", "")),
        ),
    ];
    let mut ones = 0;
    for (args, xml) in &cases {
        let ours = run(HELPER, args, xml.as_deref());
        let theirs = run(LIBVIRT_HELPER, args, xml.as_deref());
        assert_eq!(
            ours.status, theirs.status,
            "{args:?}: ours {} ({}), virt-aa-helper {} ({})",
            ours.status, ours.stderr, theirs.status, theirs.stderr
        );
        ones += usize::from(ours.status == 1);
    }
    assert!(ones >= 15, "the table has refusals: {ones}");
}
