//! Real-QEMU tests for the argv builder: build the command line for a fixture domain,
//! start `/usr/bin/qemu-system-x86_64` with it (paused by `-S`, TCG), talk QMP on the
//! monitor socket and check that QEMU runs what the domain asked for (name, UUID,
//! memory, vCPUs, block devices, chardevs, VNC). QEMU is killed by a `Drop` guard, so
//! a failing test leaves no process behind. Skipped (with a message) when the QEMU
//! binary is missing.

mod common;

use common::*;
use oxvirt_core::domain::*;
use oxvirt_driver_qemu::argv::{build, ArgvContext};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const QEMU: &str = "/usr/bin/qemu-system-x86_64";

/// A running QEMU with its QMP connection; killed and reaped on drop.
struct Vm {
    child: Child,
    qmp: BufReader<UnixStream>,
    log: PathBuf,
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Vm {
    /// Send one command; return its `return` value (events are skipped).
    fn cmd(&mut self, execute: &str) -> Value {
        let msg = json!({ "execute": execute }).to_string() + "\n";
        self.qmp.get_mut().write_all(msg.as_bytes()).unwrap();
        loop {
            let mut line = String::new();
            let n = self.qmp.read_line(&mut line).unwrap();
            assert!(
                n > 0,
                "QMP closed during {execute}; log: {}",
                self.log_text()
            );
            let v: Value = serde_json::from_str(&line).unwrap();
            if v.get("event").is_some() {
                continue;
            }
            if let Some(e) = v.get("error") {
                panic!("{execute}: {e}");
            }
            return v["return"].clone();
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `quit`, then wait for the process to exit with status 0.
    fn quit(mut self) {
        self.cmd("quit");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(
                    st.success(),
                    "QEMU exit status {st}; log: {}",
                    self.log_text()
                );
                return;
            }
            assert!(Instant::now() < deadline, "QEMU did not exit after quit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A scratch directory for one test on a disk filesystem (cache='none' needs O_DIRECT).
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("argv-{name}-"))
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

/// Create every file the domain refers to: sparse 16 MiB images, a fake bzImage.
fn make_files(dom: &Domain) {
    for d in &dom.devices.disks {
        if let Some(src) = &d.source {
            let f = std::fs::File::create(src).unwrap();
            f.set_len(16 << 20).unwrap();
        }
    }
    if let Some(k) = &dom.os.kernel {
        // The smallest thing QEMU's x86 Linux loader accepts: a boot-protocol 2.12
        // header. With -S it is loaded but never run.
        let mut b = vec![0u8; 16384];
        b[0x1f1] = 4;
        b[0x1fe] = 0x55;
        b[0x1ff] = 0xaa;
        b[0x202..0x206].copy_from_slice(b"HdrS");
        b[0x206..0x208].copy_from_slice(&0x020cu16.to_le_bytes());
        b[0x211] = 0x01;
        b[0x22c..0x230].copy_from_slice(&0x37ff_ffffu32.to_le_bytes());
        std::fs::write(k, b).unwrap();
    }
    if let Some(i) = &dom.os.initrd {
        std::fs::write(i, vec![0u8; 4096]).unwrap();
    }
}

fn start(dom: &Domain, dir: &Path) -> Option<Vm> {
    assert!(
        Path::new(QEMU).exists(),
        "{QEMU} is missing: install qemu-system-x86 (.ci/run does)"
    );
    make_files(dom);
    let mon = dir.join("monitor.sock");
    let ctx = ArgvContext {
        emulator: Path::new(QEMU),
        monitor_socket: &mon,
        domain_dir: dir,
        for_native_export: false,
        seccomp_sandbox: -1,
        vnc_listen: "127.0.0.1",
    };
    let cmd = build(dom, &ctx).unwrap();
    let log = dir.join("qemu.log");
    let logf = std::fs::File::create(&log).unwrap();
    let child = Command::new(&cmd.binary)
        .args(&cmd.args)
        .env_clear()
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(logf.try_clone().unwrap())
        .stderr(logf)
        .spawn()
        .unwrap();
    let mut vm_child = Some(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    let stream = loop {
        if let Ok(s) = UnixStream::connect(&mon) {
            break s;
        }
        let c = vm_child.as_mut().unwrap();
        if let Some(st) = c.try_wait().unwrap() {
            panic!(
                "QEMU exited ({st}) before QMP was up.\ncommand: {}\nlog: {}",
                cmd.to_shell_line(),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            let _ = c.kill();
            let _ = c.wait();
            panic!("no QMP socket after 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut vm = Vm {
        child: vm_child.take().unwrap(),
        qmp: BufReader::new(stream),
        log,
    };
    let mut greeting = String::new();
    vm.qmp.read_line(&mut greeting).unwrap();
    assert!(greeting.contains("\"QMP\""), "greeting: {greeting}");
    vm.cmd("qmp_capabilities");
    Some(vm)
}

/// Point a fixture built with `dir = ""` at `dir` (kernel, initrd and disk paths).
fn relocate(mut dom: Domain, dir: &str) -> Domain {
    let fix = |p: &mut Option<String>| {
        if let Some(s) = p.as_mut() {
            if s.starts_with('/') && !Path::new(s.as_str()).exists() {
                *s = format!("{dir}{s}");
            }
        }
    };
    fix(&mut dom.os.kernel);
    fix(&mut dom.os.initrd);
    for d in &mut dom.devices.disks {
        fix(&mut d.source);
    }
    dom
}

/// Checks common to every domain: name, UUID, memory, vCPUs, paused state.
fn check_basics(vm: &mut Vm, dom: &Domain) {
    assert_eq!(vm.cmd("query-name")["name"], dom.name.as_str());
    assert_eq!(vm.cmd("query-uuid")["UUID"], dom.uuid.to_string().as_str());
    let mem = vm.cmd("query-memory-size-summary");
    // libvirt (and oxvirt) round memory up to a whole MiB.
    assert_eq!(
        mem["base-memory"].as_u64().unwrap(),
        dom.memory_kib.div_ceil(1024) * 1024 * 1024
    );
    let cpus = vm.cmd("query-cpus-fast");
    let want = dom.vcpu.current.unwrap_or(dom.vcpu.count) as usize;
    assert_eq!(cpus.as_array().unwrap().len(), want);
    let status = vm.cmd("query-status");
    assert_eq!(
        status["status"], "prelaunch",
        "-S must leave the guest paused"
    );
}

/// The query-block entry for device id `id` (matched on `qdev`).
fn block<'a>(blocks: &'a Value, id: &str) -> &'a Value {
    blocks
        .as_array()
        .unwrap()
        .iter()
        .find(|b| {
            let q = b["qdev"].as_str().unwrap_or("");
            q == id || q.starts_with(&format!("/machine/peripheral/{id}/"))
        })
        .unwrap_or_else(|| panic!("no block device {id} in {blocks}"))
}

fn chardev_labels(vm: &mut Vm) -> Vec<(String, String)> {
    vm.cmd("query-chardev")
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["label"].as_str().unwrap().to_string(),
                c["filename"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn qemu_runs_minimal() {
    let t = scratch("minimal");
    let dom = minimal(t.path().to_str().unwrap());
    let Some(mut vm) = start(&dom, t.path()) else {
        return;
    };
    check_basics(&mut vm, &dom);
    assert_eq!(vm.cmd("query-block").as_array().unwrap().len(), 0);
    assert_eq!(vm.cmd("query-vnc")["enabled"], false);
    vm.quit();
}

#[test]
fn qemu_runs_seed_example_with_user_net_and_vnc() {
    let t = scratch("seed");
    let dir = t.path().to_str().unwrap();
    let mut dom = seed_example1(dir);
    dom.devices.interfaces[0].iface_type = InterfaceType::User;
    let Some(mut vm) = start(&dom, t.path()) else {
        return;
    };
    check_basics(&mut vm, &dom);
    let blocks = vm.cmd("query-block");
    let hda = block(&blocks, "ide0-0-0");
    assert_eq!(
        hda["inserted"]["file"],
        format!("{dir}/fedora.img").as_str()
    );
    assert_eq!(hda["inserted"]["ro"], false);
    let hdc = block(&blocks, "ide0-1-0");
    assert_eq!(hdc["inserted"]["file"], format!("{dir}/boot.iso").as_str());
    assert_eq!(hdc["inserted"]["ro"], true);
    assert_eq!(hdc["removable"], true);
    let vnc = vm.cmd("query-vnc");
    assert_eq!(vnc["enabled"], true);
    assert_eq!(vnc["host"], "127.0.0.1");
    let port: u16 = vnc["service"].as_str().unwrap().parse().unwrap();
    assert!(port >= 5900);
    vm.quit();
}

#[test]
fn qemu_runs_kernel_boot_with_file_serial() {
    let t = scratch("kernel");
    let dir = t.path().to_str().unwrap();
    let dom = kernel_boot(dir);
    let Some(mut vm) = start(&dom, t.path()) else {
        return;
    };
    check_basics(&mut vm, &dom);
    let chardevs = chardev_labels(&mut vm);
    assert!(
        chardevs.contains(&("charserial0".into(), "file".into())),
        "{chardevs:?}"
    );
    // QEMU opened (created) the serial file and its log copy.
    assert!(Path::new(&format!("{dir}/serial.log")).exists());
    assert!(Path::new(&format!("{dir}/serial-copy.log")).exists());
    vm.quit();
}

#[test]
fn qemu_runs_virtio_disks_boot_order_user_net() {
    let t = scratch("virtio");
    let dir = t.path().to_str().unwrap();
    let mut dom = virtio_boot_order(dir);
    // No qemu-img here: keep the image raw but the file name and cache='none'.
    dom.devices.disks[1].driver_type = Some("raw".into());
    let Some(mut vm) = start(&dom, t.path()) else {
        return;
    };
    check_basics(&mut vm, &dom);
    let blocks = vm.cmd("query-block");
    let vda = block(&blocks, "virtio-disk0");
    assert_eq!(
        vda["inserted"]["file"],
        format!("{dir}/root.qcow2").as_str()
    );
    assert_eq!(vda["inserted"]["cache"]["direct"], true);
    let vdb = block(&blocks, "virtio-disk1");
    assert_eq!(vdb["inserted"]["ro"], false);
    vm.quit();
}

#[test]
fn qemu_runs_readonly_shareable_and_scsi() {
    let t = scratch("roshare");
    let dir = t.path().to_str().unwrap();
    let dom = readonly_shareable(dir);
    let Some(mut vm) = start(&dom, t.path()) else {
        return;
    };
    check_basics(&mut vm, &dom);
    let blocks = vm.cmd("query-block");
    assert_eq!(block(&blocks, "virtio-disk0")["inserted"]["ro"], true);
    let sda = block(&blocks, "scsi0-0-0-0");
    assert_eq!(sda["inserted"]["ro"], false);
    assert_eq!(
        sda["inserted"]["file"],
        format!("{dir}/shared.img").as_str()
    );
    vm.quit();

    let t = scratch("scsi");
    let dir = t.path().to_str().unwrap();
    let dom = scsi(dir);
    let Some(mut vm) = start(&dom, t.path()) else {
        return;
    };
    check_basics(&mut vm, &dom);
    let blocks = vm.cmd("query-block");
    assert_eq!(block(&blocks, "scsi0-0-0-1")["inserted"]["ro"], true);
    assert_eq!(block(&blocks, "scsi0-0-0-0")["inserted"]["ro"], false);
    vm.quit();
}

#[test]
fn qemu_runs_sata_on_q35_with_empty_cdrom() {
    let t = scratch("sata");
    let dir = t.path().to_str().unwrap();
    let dom = sata_q35(dir);
    let Some(mut vm) = start(&dom, t.path()) else {
        return;
    };
    check_basics(&mut vm, &dom);
    let blocks = vm.cmd("query-block");
    let sda = block(&blocks, "sata0-0-0");
    assert_eq!(sda["inserted"]["file"], format!("{dir}/sata.img").as_str());
    let sdb = block(&blocks, "sata0-0-1");
    assert!(sdb.get("inserted").is_none(), "empty cdrom: {sdb}");
    vm.quit();

    // The same disks on a pc (i440fx) machine go on an added "ahci" controller.
    let t = scratch("satapc");
    let dir = t.path().to_str().unwrap();
    let mut dom = sata_q35(dir);
    dom.os.machine = Some("pc".into());
    let Some(mut vm) = start(&dom, t.path()) else {
        return;
    };
    check_basics(&mut vm, &dom);
    let blocks = vm.cmd("query-block");
    assert_eq!(block(&blocks, "sata0-0-0")["inserted"]["ro"], false);
    vm.quit();
}

#[test]
fn qemu_runs_chardevs_and_channels() {
    let t = scratch("chardevs");
    let dir = t.path().to_str().unwrap();
    let dom = chardevs(dir);
    let Some(mut vm) = start(&dom, t.path()) else {
        return;
    };
    check_basics(&mut vm, &dom);
    let labels: Vec<String> = chardev_labels(&mut vm).into_iter().map(|c| c.0).collect();
    for want in [
        "charmonitor",
        "charserial0",
        "charserial1",
        "charserial2",
        "charchannel0",
        "charconsole1",
    ] {
        assert!(
            labels.iter().any(|l| l == want),
            "{want} missing from {labels:?}"
        );
    }
    assert!(Path::new(&format!("{dir}/ga.sock")).exists());
    vm.quit();
}

#[test]
fn qemu_runs_tablet_vnc_rng_localtime_cmdline() {
    let t = scratch("tablet");
    let mut dom = usb_tablet_vnc(t.path().to_str().unwrap());
    // Autoport on loopback: the fixed port 5905 on 0.0.0.0 may be taken here.
    dom.devices.graphics[0].port = Some(-1);
    dom.devices.graphics[0].autoport = Some(true);
    dom.devices.graphics[0].listen = Some("127.0.0.1".into());
    let Some(mut vm) = start(&dom, t.path()) else {
        return;
    };
    check_basics(&mut vm, &dom);
    let vnc = vm.cmd("query-vnc");
    assert_eq!(vnc["enabled"], true);
    assert_eq!(vnc["auth"], "vnc", "passwd → password=on");
    vm.quit();

    for (name, dom) in [
        ("rng", rng_no_balloon("")),
        ("localtime", localtime("")),
        ("usernet", user_net("")),
        ("cmdline", qemu_commandline("")),
        ("kernelq35", kernel_q35_console_only("")),
    ] {
        let t = scratch(name);
        let dom = relocate(dom, t.path().to_str().unwrap());
        let Some(mut vm) = start(&dom, t.path()) else {
            return;
        };
        check_basics(&mut vm, &dom);
        vm.quit();
    }
}

/// A fixture of the core crate's domain XML tests (real virt-install / dumpxml
/// output), its image and log paths moved into `dir` and its `network` interface
/// made `user` (oxvirt manages no virtual networks yet).
fn xml_fixture_in(name: &str, dir: &str) -> Domain {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../core/tests/data")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut dom = oxvirt_core::domain::parse_domain_xml(&text).unwrap();
    for d in &mut dom.devices.disks {
        if let Some(s) = d.source.as_mut() {
            *s = s.replace("/var/lib/libvirt/images", dir);
        }
    }
    for c in dom
        .devices
        .serials
        .iter_mut()
        .chain(&mut dom.devices.consoles)
    {
        if let Some(l) = c.log_file.as_mut() {
            *l = l.replace("/var/log/libvirt/qemu", dir);
        }
    }
    for i in &mut dom.devices.interfaces {
        i.iface_type = InterfaceType::User;
    }
    dom
}

fn pci_drivers(vm: &mut Vm) -> Vec<String> {
    fn walk(devs: &Value, out: &mut Vec<String>) {
        for d in devs.as_array().into_iter().flatten() {
            out.push(d["qdev_id"].as_str().unwrap_or("").to_string());
            if let Some(b) = d.get("pci_bridge") {
                walk(&b["devices"], out);
            }
        }
    }
    let mut out = Vec::new();
    for bus in vm.cmd("query-pci").as_array().unwrap() {
        walk(&bus["devices"], &mut out);
    }
    out
}

#[test]
fn qemu_runs_virt_install_q35_guest() {
    let t = scratch("vi-q35");
    let dir = t.path().to_str().unwrap();
    let dom = xml_fixture_in("virt-install-q35-vnc.xml", dir);
    let Some(mut vm) = start(&dom, t.path()) else {
        return;
    };
    check_basics(&mut vm, &dom);
    let ids = pci_drivers(&mut vm);
    for n in 1..=14 {
        assert!(ids.contains(&format!("pci.{n}")), "pci.{n} in {ids:?}");
    }
    for id in ["virtio-disk0", "net0", "video0", "balloon0", "rng0", "usb"] {
        assert!(ids.iter().any(|i| i == id), "{id} in {ids:?}");
    }
    let labels = chardev_labels(&mut vm);
    let agent = labels
        .iter()
        .find(|(l, _)| l == "charchannel0")
        .expect("agent channel");
    assert!(agent.1.contains("org.qemu.guest_agent.0"), "{agent:?}");
    assert_eq!(vm.cmd("query-vnc")["enabled"], true);
    vm.quit();
}

#[test]
fn qemu_runs_virt_install_pc_guest_with_sound_qxl_topology() {
    let t = scratch("vi-pc-misc");
    let dir = t.path().to_str().unwrap();
    let mut dom = xml_fixture_in("dumpxml-virt-install-pc-misc.xml", dir);
    // UEFI is refused at start (argv_golden tests the message).
    dom.os.loader = None;
    dom.os.loader_type = None;
    dom.os.loader_readonly = None;
    dom.os.nvram = None;
    let Some(mut vm) = start(&dom, t.path()) else {
        return;
    };
    check_basics(&mut vm, &dom);
    let ids = pci_drivers(&mut vm);
    for id in ["sound0", "video0", "virtio-disk0"] {
        assert!(ids.iter().any(|i| i == id), "{id} in {ids:?}");
    }
    let cpus = vm.cmd("query-cpus-fast");
    let props = &cpus.as_array().unwrap()[3]["props"];
    assert_eq!(
        (
            props["socket-id"].as_u64(),
            props["core-id"].as_u64(),
            props["thread-id"].as_u64()
        ),
        (Some(0), Some(1), Some(1))
    );
    assert!(Path::new(&format!("{dir}/g-misc-serial.log")).exists());
    vm.quit();
}
