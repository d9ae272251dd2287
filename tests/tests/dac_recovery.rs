//! End-to-end: DAC and the cgroup device ACL after each way a VM can stop or its
//! managers can die — guest poweroff, QEMU SIGKILLed, supervisor and QEMU killed, the
//! CLI and the supervisor killed mid-start: owners come back, no `trusted.libvirt.*`
//! xattr, journal or cgroup is left, and the domain starts again.

mod dac_common;

use dac_common::*;
use oxvirt_tests::GUEST_CMDLINE;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn boot_dac_restores_after_guest_poweroff_and_after_qemu_is_killed() {
    // Default stack on a host without SELinux/AppArmor: none (primary) + dac.
    let env = Env::new(&config());
    let (uid, _) = qemu_user();
    let disk = env.path("disk.img");
    env.define("off", &DISK.replace("DISK", disk.to_str().unwrap()));

    // The guest powers itself off.
    std::fs::write(
        env.path("off.xml"),
        std::fs::read_to_string(env.path("off.xml"))
            .unwrap()
            .replace(GUEST_CMDLINE, "console=ttyS0 quiet oxvirt.poweroff"),
    )
    .unwrap();
    env.ok(&["define", env.path("off.xml").to_str().unwrap()]);
    env.ok(&["start", "off"]);
    let deadline = Instant::now() + BOOT_TIMEOUT;
    while env.path("run/qemu/off.xml").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        env.ok(&["domstate", "--reason", "off"]).trim(),
        "shut off (shutdown)"
    );
    let info = env.ok(&["dominfo", "off"]);
    assert!(
        info.contains("Security model: none\nSecurity DOI:   0\n"),
        "{info}"
    );
    assert_eq!(owner(&disk), env.owner);
    assert!(trusted_xattrs(&disk).is_empty());

    // QEMU is SIGKILLed: the supervisor sees it die and restores.
    std::fs::write(
        env.path("off.xml"),
        std::fs::read_to_string(env.path("off.xml"))
            .unwrap()
            .replace(" oxvirt.poweroff", ""),
    )
    .unwrap();
    env.ok(&["define", env.path("off.xml").to_str().unwrap()]);
    env.ok(&["start", "off"]);
    assert_eq!(owner(&disk).0, uid);
    let pid = env.status_attr("off", "pid").unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    assert!(wait_gone(pid));
    let deadline = Instant::now() + Duration::from_secs(10);
    while env.path("run/qemu/off.xml").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        env.ok(&["domstate", "--reason", "off"]).trim(),
        "shut off (crashed)"
    );
    assert_eq!(owner(&disk), env.owner);
    assert!(trusted_xattrs(&disk).is_empty());
}

#[test]
fn boot_dac_recovers_when_everything_is_killed() {
    let env = Env::new(&config());
    let (uid, _) = qemu_user();
    let disk = env.path("disk.img");
    env.define("crash", &DISK.replace("DISK", disk.to_str().unwrap()));
    env.ok(&["start", "crash"]);
    let pid = env.status_attr("crash", "pid").unwrap();
    let sup = env.status_attr("crash", "supervisor").unwrap();
    assert_eq!(owner(&disk).0, uid);
    let cg = vm_cgroup_of(pid);
    // The supervisor dies first (nobody restores), then QEMU.
    for p in [sup, pid] {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p as i32),
            nix::sys::signal::SIGKILL,
        )
        .unwrap();
        assert!(wait_gone(p));
    }
    assert_eq!(
        owner(&disk).0,
        uid,
        "nothing restored yet: nobody was left to do it"
    );
    // The next process to open the root cleans up.
    assert_eq!(
        env.ok(&["domstate", "--reason", "crash"]).trim(),
        "shut off (unknown)"
    );
    assert_eq!(owner(&disk), env.owner);
    assert!(trusted_xattrs(&disk).is_empty());
    assert!(!env.path("run/qemu/crash.journal").exists());
    assert!(
        !cg.exists(),
        "cgroup {} removed by the recovery",
        cg.display()
    );
}

#[test]
fn boot_dac_recovers_when_the_managing_process_and_supervisor_die_mid_start() {
    let env = Env::new(&config());
    let (uid, _) = qemu_user();
    let disk = env.path("disk.img");
    env.define("mid", &DISK.replace("DISK", disk.to_str().unwrap()));
    // Hold the start after labelling (test seam), then kill the CLI and the supervisor.
    let mut cli = Command::new(bin("oxvirt"))
        .arg("-c")
        .arg(env.uri())
        .args(["start", "mid"])
        .env("OXVIRT_TEST_PAUSE_AT", "labelled")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let journal = env.path("run/qemu/mid.journal");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(journal.exists() && owner(&disk).0 == uid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        owner(&disk).0,
        uid,
        "the stalled start has relabelled the disk"
    );
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&journal).unwrap()).unwrap();
    let sup = j["supervisor_pid"].as_u64().unwrap() as u32;
    let cg = PathBuf::from(j["cgroup"].as_str().unwrap());
    // The cgroup is created just after the relabelling the loop above saw.
    while !cg.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(cg.exists(), "{}", cg.display());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(cli.id() as i32),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    let _ = cli.wait();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sup as i32),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    assert!(wait_gone(sup));
    // Re-open the root: the journal is replayed.
    assert_eq!(
        env.ok(&["domstate", "--reason", "mid"]).trim(),
        "shut off (unknown)"
    );
    assert_eq!(owner(&disk), env.owner);
    assert!(trusted_xattrs(&disk).is_empty());
    assert!(!journal.exists());
    assert!(!cg.exists(), "cgroup {} removed", cg.display());
    // And the domain starts normally afterwards.
    env.ok(&["start", "mid"]);
    env.ok(&["destroy", "mid"]);
    assert_eq!(owner(&disk), env.owner);
}
