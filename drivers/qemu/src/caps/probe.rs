//! Probing one QEMU binary: run it with `-machine none -nodefaults -nographic` and QMP
//! connected to a socket we listen on, send every query at once (one write, replies
//! matched by id — no per-property round trips), parse the replies into [`QemuCaps`],
//! kill QEMU. The whole probe is bounded by a timeout; a binary that is not QEMU, dies,
//! or speaks malformed QMP is an error for that binary only.

use super::model::{CpuModel, MachineType, QemuCaps};
use crate::qmp::Qmp;
use oxvirt_core::{Error, Result};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// How long a probe may take before QEMU is killed.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The queries, sent in one batch after `qmp_capabilities`.
pub const QUERIES: &[&str] = &[
    "query-version",
    "query-target",
    "query-machines",
    "query-kvm",
    "query-cpu-definitions",
    "qom-list-types",
    "query-commands",
];

/// Probe `binary` (blocking; runs its own small runtime).
pub fn probe(binary: &Path) -> Result<QemuCaps> {
    probe_with_timeout(binary, PROBE_TIMEOUT)
}

/// [`probe`] with a chosen timeout.
pub fn probe_with_timeout(binary: &Path, timeout: Duration) -> Result<QemuCaps> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::system("cannot create a runtime for the capability probe", e))?;
    rt.block_on(probe_async(binary, timeout))
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A private directory for the probe's socket, removed on drop.
struct ProbeDir(std::path::PathBuf);
impl Drop for ProbeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn probe_async(binary: &Path, timeout: Duration) -> Result<QemuCaps> {
    let dir = std::env::temp_dir().join(format!(
        "oxvirt-probe-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir)
        .map_err(|e| Error::system(format!("cannot create '{}'", dir.display()), e))?;
    let dir = ProbeDir(dir);
    let sock = dir.0.join("qmp.sock");
    let listener = tokio::net::UnixListener::bind(&sock)
        .map_err(|e| Error::system(format!("cannot listen on '{}'", sock.display()), e))?;
    let mut child = tokio::process::Command::new(binary)
        .args([
            "-machine",
            "none",
            "-nodefaults",
            "-nographic",
            "-no-user-config",
        ])
        .arg("-qmp")
        .arg(format!("unix:{}", sock.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::system(format!("cannot run '{}'", binary.display()), e))?;
    let mut stderr = child.stderr.take();

    let talk = async {
        let stream = tokio::select! {
            r = listener.accept() => r.map(|(s, _)| s).map_err(|e| Error::system("cannot accept the QMP connection", e))?,
            st = child.wait() => {
                let mut err = String::new();
                if let Some(s) = stderr.as_mut() {
                    use tokio::io::AsyncReadExt;
                    let _ = s.read_to_string(&mut err).await;
                }
                let st = st.map(|s| s.to_string()).unwrap_or_default();
                return Err(Error::operation_failed(format!(
                    "it exited ({st}) before connecting to QMP: {}",
                    err.trim().lines().last().unwrap_or("no message")
                )));
            }
        };
        let mut qmp = Qmp::handshake(stream).await?;
        let cmds: Vec<(&str, Option<Value>)> = QUERIES.iter().map(|q| (*q, None)).collect();
        let replies = qmp.execute_batch(&cmds).await?;
        Ok::<_, Error>(replies)
    };
    let replies = match tokio::time::timeout(timeout, talk).await {
        Ok(r) => r,
        Err(_) => Err(Error::operation_failed(format!(
            "no answer within {} s; killed",
            timeout.as_secs_f32()
        ))),
    };
    let _ = child.start_kill();
    let _ = child.wait().await;
    let replies = replies?;
    let mut caps = parse_replies(binary, &replies)?;
    caps.probe_commands = QUERIES.len() + 1;
    Ok(caps)
}

fn need<'a>(r: &'a Result<Value>, what: &str) -> Result<&'a Value> {
    r.as_ref()
        .map_err(|e| Error::operation_failed(format!("{what}: {}", e.message)))
}

fn malformed(what: &str) -> Error {
    Error::operation_failed(format!("malformed reply to {what}"))
}

/// Build [`QemuCaps`] from the replies to [`QUERIES`], in order. `query-kvm` and
/// `query-cpu-definitions` may have failed (QEMU without KVM / CPU models); the rest
/// must be there.
pub fn parse_replies(binary: &Path, replies: &[Result<Value>]) -> Result<QemuCaps> {
    if replies.len() != QUERIES.len() {
        return Err(Error::internal("wrong number of probe replies"));
    }
    let (version, package) = version(need(&replies[0], "query-version")?)?;
    let target = need(&replies[1], "query-target")?
        .get("arch")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("query-target"))?
        .to_string();
    let machines = machines(need(&replies[2], "query-machines")?)?;
    let kvm_present = replies[3]
        .as_ref()
        .ok()
        .and_then(|k| k.get("present"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let cpu_models = match &replies[4] {
        Ok(list) => cpu_models(list)?,
        Err(_) => Vec::new(),
    };
    let device_types: BTreeSet<String> =
        names(need(&replies[5], "qom-list-types")?, "qom-list-types")?
            .map(str::to_string)
            .collect();
    let commands: BTreeSet<&str> =
        names(need(&replies[6], "query-commands")?, "query-commands")?.collect();
    let flags = flags(version, kvm_present, &device_types, &commands);
    Ok(QemuCaps {
        binary: binary.to_path_buf(),
        version,
        package,
        target,
        machines,
        cpu_models,
        device_types,
        flags,
        kvm_usable: false,
        probe_commands: 0,
    })
}

/// `query-version` → (libvirt's version number, the package string).
fn version(v: &Value) -> Result<(u64, String)> {
    let num = |k: &str| v.pointer(&format!("/qemu/{k}")).and_then(Value::as_u64);
    let version = match (num("major"), num("minor"), num("micro")) {
        (Some(a), Some(b), Some(c)) => a * 1_000_000 + b * 1000 + c,
        _ => return Err(malformed("query-version")),
    };
    let package = v
        .get("package")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_string();
    Ok((version, package))
}

/// Each entry of a list reply made into a `T` with its `name`; an entry without a
/// name, or a reply that is not a list, is malformed.
fn named<T>(v: &Value, what: &str, f: impl Fn(&Value, &str) -> T) -> Result<Vec<T>> {
    v.as_array()
        .ok_or_else(|| malformed(what))?
        .iter()
        .map(|e| {
            let name = e
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| malformed(what))?;
            Ok(f(e, name))
        })
        .collect()
}

/// A boolean member, false when absent.
fn flag(e: &Value, key: &str) -> bool {
    e.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// `query-machines`.
fn machines(v: &Value) -> Result<Vec<MachineType>> {
    named(v, "query-machines", |m, name| MachineType {
        name: name.to_string(),
        alias: m.get("alias").and_then(Value::as_str).map(str::to_string),
        is_default: flag(m, "is-default"),
        cpu_max: m.get("cpu-max").and_then(Value::as_u64).unwrap_or(1) as u32,
        deprecated: flag(m, "deprecated"),
    })
}

/// `query-cpu-definitions`, sorted by name; usable = no unavailable features.
fn cpu_models(v: &Value) -> Result<Vec<CpuModel>> {
    let mut models = named(v, "query-cpu-definitions", |c, name| CpuModel {
        name: name.to_string(),
        deprecated: flag(c, "deprecated"),
        usable: c
            .get("unavailable-features")
            .and_then(Value::as_array)
            .is_none_or(|a| a.is_empty()),
    })?;
    models.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(models)
}

/// The `name` of each entry of a list reply (entries without one are skipped).
fn names<'v>(v: &'v Value, what: &str) -> Result<impl Iterator<Item = &'v str>> {
    Ok(v.as_array()
        .ok_or_else(|| malformed(what))?
        .iter()
        .filter_map(|t| t.get("name").and_then(Value::as_str)))
}

/// The libvirt-named flags the argv builder consults (see `model.rs`).
fn flags(
    version: u64,
    kvm_present: bool,
    device_types: &BTreeSet<String>,
    commands: &BTreeSet<&str>,
) -> BTreeSet<String> {
    [
        ("drive", true),
        ("blockdev", commands.contains("blockdev-add")),
        ("device.json", version >= 6_002_000),
        ("kvm", kvm_present),
        ("tcg", device_types.contains("tcg-accel")),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(f, _)| f.to_string())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Instant;

    fn script(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn a_binary_that_is_not_qemu_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let b = script(
            d.path(),
            "qemu-system-x86_64",
            "echo 'I am not QEMU' >&2; exit 3",
        );
        let e = probe(&b).unwrap_err();
        assert!(e.message.contains("exited"), "{}", e.message);
        assert!(e.message.contains("I am not QEMU"), "{}", e.message);
    }

    #[test]
    fn a_hanging_probe_is_killed_after_the_timeout() {
        let d = tempfile::tempdir().unwrap();
        let b = script(d.path(), "qemu-kvm", "exec sleep 60");
        let t = Instant::now();
        let e = probe_with_timeout(&b, Duration::from_millis(300)).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(e.message.contains("killed"), "{}", e.message);
    }

    fn ok(v: serde_json::Value) -> Result<Value> {
        Ok(v)
    }

    fn replies() -> Vec<Result<Value>> {
        use serde_json::json;
        vec![
            ok(
                json!({"qemu": {"major": 7, "minor": 2, "micro": 22}, "package": "Debian 1:7.2+dfsg-7"}),
            ),
            ok(json!({"arch": "x86_64"})),
            ok(json!([
                {"name": "pc-i440fx-7.2", "alias": "pc", "is-default": true, "cpu-max": 255, "deprecated": false},
                {"name": "pc-q35-7.2", "alias": "q35", "cpu-max": 288, "deprecated": false},
                {"name": "pc-i440fx-1.4", "cpu-max": 255, "deprecated": true}
            ])),
            ok(json!({"enabled": false, "present": true})),
            ok(json!([{"name": "qemu64", "unavailable-features": [], "deprecated": false}])),
            ok(json!([{"name": "tcg-accel"}, {"name": "ide-hd"}, {"name": "virtio-blk-pci"}])),
            ok(json!([{"name": "blockdev-add"}, {"name": "qmp_capabilities"}])),
        ]
    }

    #[test]
    fn recorded_replies_parse() {
        let c = parse_replies(Path::new("/usr/bin/qemu-system-x86_64"), &replies()).unwrap();
        assert_eq!(c.version, 7_002_022);
        assert_eq!(c.arch(), "x86_64");
        assert_eq!(c.resolve_machine(Some("pc")).unwrap().name, "pc-i440fx-7.2");
        assert_eq!(c.resolve_machine(None).unwrap().name, "pc-i440fx-7.2");
        assert_eq!(c.resolve_machine(Some("q35")).unwrap().name, "pc-q35-7.2");
        assert!(c.resolve_machine(Some("nope")).is_err());
        for f in ["blockdev", "drive", "device.json", "kvm", "tcg"] {
            assert!(c.has(f), "{f}");
        }
        assert!(c.has_device("ide-hd") && !c.has_device("nosuch"));
    }

    #[test]
    fn malformed_replies_are_errors_not_panics() {
        for i in [0, 1, 2, 5, 6] {
            let mut r = replies();
            r[i] = ok(serde_json::json!("garbage"));
            assert!(parse_replies(Path::new("/q"), &r).is_err(), "reply {i}");
        }
        let mut r = replies();
        r[2] = Err(Error::operation_failed("QEMU refused"));
        assert!(parse_replies(Path::new("/q"), &r).is_err());
        // query-kvm may fail (QEMU without KVM): not fatal.
        let mut r = replies();
        r[3] = Err(Error::operation_failed("CommandNotFound"));
        assert!(!parse_replies(Path::new("/q"), &r).unwrap().has("kvm"));
    }
}
