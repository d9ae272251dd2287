//! The host resources a VM touches, computed from its definition: disk images and their
//! backing chains, kernel/initrd/firmware, chardev files and sockets, and the VM's own
//! directories. The security backends label exactly this list; the cgroup ACL adds the
//! block devices among them.

use oxvirt_core::domain::{ChardevSource, DiskType, Domain, SecLabel, UnixMode};
use oxvirt_core::security::{Resource, ResourceKind};
use std::io::Read;
use std::path::{Path, PathBuf};

/// How deep a backing chain is followed.
const MAX_CHAIN: usize = 16;

fn label_of(seclabels: &[SecLabel]) -> (bool, Option<(String, String)>) {
    let relabel = !seclabels.iter().any(|s| s.relabel == Some(false));
    let label = seclabels
        .iter()
        .find_map(|s| Some((s.model.clone()?, s.label.clone()?)));
    (relabel, label)
}

/// The backing file named in a qcow2 header, resolved against the image's directory.
pub fn qcow2_backing_file(image: &Path) -> Option<PathBuf> {
    let mut f = std::fs::File::open(image).ok()?;
    let mut header = [0u8; 20];
    f.read_exact(&mut header).ok()?;
    if &header[0..4] != b"QFI\xfb" {
        return None;
    }
    let offset = u64::from_be_bytes(header[8..16].try_into().ok()?);
    let size = u32::from_be_bytes(header[16..20].try_into().ok()?) as usize;
    if offset == 0 || size == 0 || size > 4096 {
        return None;
    }
    use std::io::Seek;
    f.seek(std::io::SeekFrom::Start(offset)).ok()?;
    let mut name = vec![0u8; size];
    f.read_exact(&mut name).ok()?;
    let name = String::from_utf8(name).ok()?;
    if name.contains(':') && !name.starts_with('/') {
        return None; // a protocol (nbd:, http:) — not a local file
    }
    let p = PathBuf::from(name);
    Some(if p.is_absolute() {
        p
    } else {
        image.parent().unwrap_or(Path::new("/")).join(p)
    })
}

/// Every resource of `dom`, plus the VM's runtime and private directories.
pub fn vm_resources(dom: &Domain, vm_dirs: &[&Path]) -> Vec<Resource> {
    let mut out = Vec::new();
    for d in &dom.devices.disks {
        let Some(src) = &d.source else { continue };
        let (relabel, label) = label_of(&d.seclabels);
        out.push(Resource {
            path: PathBuf::from(src),
            kind: ResourceKind::Disk {
                readonly: d.readonly,
                shared: d.shareable,
            },
            relabel,
            label: label.clone(),
        });
        // Only a disk declared qcow2 has a backing chain: QEMU opens any other as its
        // declared format (raw when none, argv/devices/disk.rs), so a qcow2 header a guest
        // wrote into its raw disk must not name host files for the backends to open up.
        if d.disk_type == DiskType::File && d.driver_type.as_deref() == Some("qcow2") {
            let mut cur = PathBuf::from(src);
            for _ in 0..MAX_CHAIN {
                let Some(b) = qcow2_backing_file(&cur) else {
                    break;
                };
                out.push(Resource {
                    path: b.clone(),
                    kind: ResourceKind::BackingFile,
                    relabel,
                    label: label.clone(),
                });
                cur = b;
            }
        }
    }
    for boot in [&dom.os.kernel, &dom.os.initrd, &dom.os.loader]
        .into_iter()
        .flatten()
    {
        out.push(Resource {
            path: PathBuf::from(boot),
            kind: ResourceKind::BootFile,
            relabel: true,
            label: None,
        });
    }
    let chardevs = dom
        .devices
        .serials
        .iter()
        .chain(&dom.devices.consoles)
        .chain(&dom.devices.channels);
    for c in chardevs {
        let path = match &c.source {
            ChardevSource::File { path, .. } => Some(path),
            ChardevSource::Unix {
                path,
                mode: UnixMode::Connect,
            } => Some(path),
            _ => None,
        };
        if let Some(p) = path {
            if !out.iter().any(|r| r.path == Path::new(p)) {
                out.push(Resource {
                    path: PathBuf::from(p),
                    kind: ResourceKind::Chardev,
                    relabel: true,
                    label: None,
                });
            }
        }
        if let Some(log) = &c.log_file {
            out.push(Resource {
                path: PathBuf::from(log),
                kind: ResourceKind::Chardev,
                relabel: true,
                label: None,
            });
        }
    }
    for dir in vm_dirs {
        out.push(Resource {
            path: dir.to_path_buf(),
            kind: ResourceKind::VmDir,
            relabel: true,
            label: None,
        });
    }
    out
}

/// Create the file chardevs that do not exist yet, so they can be labelled before QEMU
/// (running as another user) opens them.
pub fn precreate_chardev_files(resources: &[Resource]) -> std::io::Result<()> {
    for r in resources {
        if r.kind == ResourceKind::Chardev && !r.path.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            // The guest's console output: the managing uid's (DAC then gives it to QEMU).
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&r.path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qcow2_backing_chain_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.raw");
        std::fs::write(&base, b"raw").unwrap();
        let top = dir.path().join("top.qcow2");
        let mut h = vec![0u8; 512];
        h[0..4].copy_from_slice(b"QFI\xfb");
        h[8..16].copy_from_slice(&100u64.to_be_bytes());
        h[16..20].copy_from_slice(&8u32.to_be_bytes());
        h[100..108].copy_from_slice(b"base.raw");
        std::fs::write(&top, &h).unwrap();
        assert_eq!(qcow2_backing_file(&top), Some(base.clone()));
        assert_eq!(qcow2_backing_file(&base), None);
        let dom = oxvirt_core::domain::parse_domain_xml(&format!(
            "<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type></os>\
             <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{}'/><target dev='vda' bus='virtio'/></disk></devices></domain>",
            top.display()
        ))
        .unwrap();
        let res = vm_resources(&dom, &[]);
        assert_eq!(res.len(), 2);
        assert_eq!(res[1].kind, ResourceKind::BackingFile);
        assert_eq!(res[1].path, base);
    }

    #[test]
    fn a_qcow2_header_inside_a_raw_disk_names_nothing() {
        // A guest can write any bytes into its raw disk, a qcow2 header naming a host
        // file included; QEMU opens the disk as raw, so no backend may open that file up.
        let dir = tempfile::tempdir().unwrap();
        let disk = dir.path().join("guest.img");
        let mut h = vec![0u8; 512];
        h[0..4].copy_from_slice(b"QFI\xfb");
        h[8..16].copy_from_slice(&100u64.to_be_bytes());
        h[16..20].copy_from_slice(&11u32.to_be_bytes());
        h[100..111].copy_from_slice(b"/etc/shadow");
        std::fs::write(&disk, &h).unwrap();
        assert_eq!(
            qcow2_backing_file(&disk),
            Some(PathBuf::from("/etc/shadow"))
        );
        for driver in ["", "<driver name='qemu' type='raw'/>"] {
            let dom = oxvirt_core::domain::parse_domain_xml(&format!(
                "<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type></os>\
                 <devices><disk type='file' device='disk'>{driver}<source file='{}'/><target dev='vda' bus='virtio'/></disk></devices></domain>",
                disk.display()
            ))
            .unwrap();
            let res = vm_resources(&dom, &[]);
            assert_eq!(res.len(), 1, "{driver}: {res:?}");
            assert_eq!(res[0].path, disk);
        }
    }
}
