//! Shared parts of the platform tests: run a `domxml-to-native` line paused under QEMU
//! with a QMP connection, libvirt's own `virsh -c qemu:///embed` as the reference, and
//! the machine facts QMP shows (machine and CPU properties, devices, memory, vCPUs).

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A QEMU we started from a command line; killed and reaped on drop.
pub struct Vm {
    child: Child,
    qmp: BufReader<UnixStream>,
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Vm {
    /// Start a shell line as printed by `domxml-to-native` (`-S`, a QMP socket at
    /// `id=charmonitor,path=...`), after dropping `-object secret` (libvirt's master
    /// key file exists only for a started domain).
    pub fn start(line: &str) -> Vm {
        let line = drop_master_key(line.trim());
        let key = "id=charmonitor,path=";
        let start = line.find(key).expect("a monitor socket path") + key.len();
        let end = start + line[start..].find(",server=on").unwrap();
        let monitor = PathBuf::from(&line[start..end]);
        std::fs::create_dir_all(monitor.parent().unwrap()).unwrap();
        let _ = std::fs::remove_file(&monitor);
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("exec env -i {line}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let stream = loop {
            if let Ok(s) = UnixStream::connect(&monitor) {
                break s;
            }
            if let Ok(Some(st)) = child.try_wait() {
                let mut err = String::new();
                let _ = std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err);
                panic!("QEMU exited ({st}) before its monitor came up: {err}\n{line}");
            }
            assert!(Instant::now() < deadline, "no QMP at {}", monitor.display());
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut vm = Vm {
            child,
            qmp: BufReader::new(stream),
        };
        let mut greeting = String::new();
        if !matches!(vm.qmp.read_line(&mut greeting), Ok(n) if n > 0) {
            let _ = vm.child.wait();
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(vm.child.stderr.as_mut().unwrap(), &mut err);
            panic!("QEMU closed its monitor at once: {err}\n{line}");
        }
        vm.cmd("qmp_capabilities", json!({}));
        vm
    }

    pub fn cmd(&mut self, execute: &str, args: Value) -> Value {
        self.try_cmd(execute, args)
            .unwrap_or_else(|e| panic!("{execute}: {e}"))
    }

    pub fn try_cmd(&mut self, execute: &str, args: Value) -> Result<Value, Value> {
        let msg = json!({ "execute": execute, "arguments": args }).to_string() + "\n";
        self.qmp.get_mut().write_all(msg.as_bytes()).unwrap();
        loop {
            let mut line = String::new();
            assert!(
                self.qmp.read_line(&mut line).unwrap() > 0,
                "QMP closed during {execute}"
            );
            let v: Value = serde_json::from_str(&line).unwrap();
            if v.get("event").is_some() {
                continue;
            }
            if let Some(e) = v.get("error") {
                return Err(e.clone());
            }
            return Ok(v["return"].clone());
        }
    }

    /// `quit`, and QEMU exits with status 0.
    pub fn quit(mut self) {
        self.cmd("quit", json!({}));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(st.success(), "QEMU exit status {st}");
                return;
            }
            assert!(Instant::now() < deadline, "QEMU did not exit after quit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The scalar QOM properties of `path` (bool, int, string), by name.
    fn props(&mut self, path: &str, skip: &[&str]) -> BTreeMap<String, Value> {
        let list = self.cmd("qom-list", json!({ "path": path }));
        let mut out = BTreeMap::new();
        for p in list.as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            let ty = p["type"].as_str().unwrap_or("");
            let scalar = matches!(
                ty,
                "bool"
                    | "str"
                    | "string"
                    | "int"
                    | "uint8"
                    | "uint16"
                    | "uint32"
                    | "uint64"
                    | "int32"
                    | "int64"
                    | "OnOffAuto"
                    | "OnOffSplit"
            );
            if !scalar || skip.contains(&name) {
                continue;
            }
            if let Ok(v) = self.try_cmd("qom-get", json!({ "path": path, "property": name })) {
                out.insert(name.to_string(), v);
            }
        }
        out
    }

    /// What the guest gets: machine and first-CPU properties, the device types of
    /// `info qtree`, memory, vCPUs with their topology.
    pub fn facts(&mut self) -> Facts {
        let cpus = self.cmd("query-cpus-fast", json!({}));
        let cpus = cpus.as_array().unwrap().clone();
        let cpu_path = cpus[0]["qom-path"].as_str().unwrap().to_string();
        let qtree = self.cmd(
            "human-monitor-command",
            json!({"command-line": "info qtree"}),
        );
        let mut devices: Vec<String> = qtree
            .as_str()
            .unwrap()
            .lines()
            .filter_map(|l| l.trim().strip_prefix("dev: "))
            .map(|l| l.split(',').next().unwrap().to_string())
            // libvirt puts q35's PCIe devices behind root ports it adds; where devices
            // sit is the devices side's (docs/domain-xml.md), not the platform's.
            .filter(|d| d != "pcie-root-port")
            .collect();
        devices.sort();
        Facts {
            machine: self.props("/machine", &["memory-backend"]),
            cpu_type: self.cmd("qom-get", json!({"path": cpu_path, "property": "type"})),
            cpu: self.props(&cpu_path, &["apic-id", "start-powered-off"]),
            devices,
            memory: self.cmd("query-memory-size-summary", json!({}))["base-memory"].clone(),
            topology: cpus.iter().map(|c| c["props"].clone()).collect(),
        }
    }
}

/// The facts two QEMUs must share to give the guest the same machine.
#[derive(Debug, PartialEq)]
pub struct Facts {
    pub machine: BTreeMap<String, Value>,
    pub cpu_type: Value,
    pub cpu: BTreeMap<String, Value>,
    pub devices: Vec<String>,
    pub memory: Value,
    pub topology: Vec<Value>,
}

impl Facts {
    /// What differs from `other`, one line each (empty: the same machine).
    pub fn diff(&self, other: &Facts) -> Vec<String> {
        let mut out = Vec::new();
        for (what, a, b) in [
            ("machine", &self.machine, &other.machine),
            ("cpu", &self.cpu, &other.cpu),
        ] {
            for k in a
                .keys()
                .chain(b.keys())
                .collect::<std::collections::BTreeSet<_>>()
            {
                if a.get(k) != b.get(k) {
                    out.push(format!("{what}.{k}: {:?} vs {:?}", a.get(k), b.get(k)));
                }
            }
        }
        if self.cpu_type != other.cpu_type {
            out.push(format!("cpu type: {} vs {}", self.cpu_type, other.cpu_type));
        }
        if self.devices != other.devices {
            let only = |a: &[String], b: &[String]| -> Vec<String> {
                let mut b = b.to_vec();
                a.iter()
                    .filter(|d| match b.iter().position(|x| x == *d) {
                        Some(i) => {
                            b.remove(i);
                            false
                        }
                        None => true,
                    })
                    .cloned()
                    .collect()
            };
            out.push(format!(
                "devices only in ours: {:?}, only in libvirt's: {:?}",
                only(&self.devices, &other.devices),
                only(&other.devices, &self.devices)
            ));
        }
        if self.memory != other.memory {
            out.push(format!("memory: {} vs {}", self.memory, other.memory));
        }
        if self.topology != other.topology {
            out.push(format!(
                "topology: {:?} vs {:?}",
                self.topology, other.topology
            ));
        }
        out
    }
}

/// Remove libvirt's `-object '{"qom-type":"secret",...}'`.
fn drop_master_key(line: &str) -> String {
    let Some(i) = line.find("-object '{\"qom-type\":\"secret\"") else {
        return line.to_string();
    };
    let rest = &line[i..];
    let end = rest.find("}' ").map(|e| e + 3).unwrap_or(rest.len());
    format!("{}{}", &line[..i], &rest[end..])
}

/// libvirt 9.0's own QEMU driver in `virsh`, in a root of its own (qemu.conf: run as
/// root, no cgroups); in a mount namespace with a `libvirt-qemu` user when the host has
/// none (libvirt resolves its default user before reading qemu.conf).
pub struct Libvirt {
    root: tempfile::TempDir,
}

impl Libvirt {
    pub fn new() -> Libvirt {
        let root = tempfile::Builder::new()
            .prefix("lvp")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(
            root.path().join("etc/qemu.conf"),
            "user = \"root\"\ngroup = \"root\"\nstdio_handler = \"file\"\ncgroup_controllers = [ ]\n",
        )
        .unwrap();
        let pw = root.path().join("passwd");
        let gr = root.path().join("group");
        let mut p = std::fs::read_to_string("/etc/passwd").unwrap();
        let mut g = std::fs::read_to_string("/etc/group").unwrap();
        if !p.lines().any(|l| l.starts_with("libvirt-qemu:")) {
            p.push_str(
                "libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin\n",
            );
            g.push_str("libvirt-qemu:x:64055:\n");
        }
        std::fs::write(pw, p).unwrap();
        std::fs::write(gr, g).unwrap();
        Libvirt { root }
    }

    /// `virsh domxml-to-native qemu-argv FILE`: the line, or libvirt's error.
    pub fn to_native(&self, file: &Path) -> Result<String, String> {
        let r = self.root.path().display().to_string();
        let script = format!(
            "mount --bind {r}/passwd /etc/passwd && mount --bind {r}/group /etc/group && \
             exec virsh -q -c 'qemu:///embed?root={r}' domxml-to-native qemu-argv '{}'",
            file.display()
        );
        let out = Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(stderr
                .lines()
                .filter(|l| l.starts_with("error"))
                .collect::<Vec<_>>()
                .join("\n"))
        }
    }
}
