//! The ruleset of one VM, as data: which host paths QEMU may reach and how, which TCP
//! ports it may bind or connect to, which IPC it may not reach outside its own domain.
//! Computed from the domain (emulator, graphics ports, chardevs) and the resources the
//! driver lists for it (disks, backing files, boot files, chardev files, hostdevs, the
//! VM's own directories), plus the system paths every QEMU needs. Everything not named
//! here is denied.

use oxvirt_core::domain::{ChardevSource, Domain, UnixMode};
use oxvirt_core::security::{
    FsAccess, LandlockPath, LandlockPort, LandlockRules, LandlockScope, NetAccess, Resource,
    ResourceKind,
};
use std::path::{Path, PathBuf};

/// Where QEMU's shared libraries and loadable modules are (read and execute).
const LIBRARY_DIRS: &[&str] = &["/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/libexec"];

/// Firmware and option ROM directories (read).
const FIRMWARE_DIRS: &[&str] = &[
    "/usr/share/qemu",
    "/usr/share/seabios",
    "/usr/share/ipxe",
    "/usr/share/OVMF",
    "/usr/share/AAVMF",
    "/usr/share/qemu-efi",
    "/usr/share/qemu-efi-aarch64",
    "/usr/share/edk2",
    "/usr/share/misc/qemu",
];

/// Single files every process linked dynamically reads (read).
const SYSTEM_FILES: &[&str] = &["/etc/ld.so.cache", "/etc/localtime"];

/// The VM's own directories: create and remove files, sockets and directories in them.
const VM_DIR: &[FsAccess] = &[
    FsAccess::ReadFile,
    FsAccess::ReadDir,
    FsAccess::WriteFile,
    FsAccess::Truncate,
    FsAccess::MakeReg,
    FsAccess::MakeDir,
    FsAccess::MakeSock,
    FsAccess::MakeFifo,
    FsAccess::RemoveFile,
    FsAccess::RemoveDir,
];

fn rule(path: impl Into<PathBuf>, access: &[FsAccess]) -> LandlockPath {
    LandlockPath {
        path: path.into(),
        access: access.to_vec(),
    }
}

fn with_ioctl(access: &[FsAccess]) -> Vec<FsAccess> {
    let mut a = access.to_vec();
    a.push(FsAccess::IoctlDev);
    a
}

/// The path rules of one resource.
fn resource_rule(r: &Resource) -> LandlockPath {
    let is_dev = r.path.starts_with("/dev");
    let access: Vec<FsAccess> = match r.kind {
        ResourceKind::Disk { readonly: true, .. } => FsAccess::READ.to_vec(),
        ResourceKind::Disk { .. } | ResourceKind::Hostdev => FsAccess::READ_WRITE.to_vec(),
        ResourceKind::BackingFile | ResourceKind::BootFile => FsAccess::READ.to_vec(),
        ResourceKind::Chardev => FsAccess::READ_WRITE.to_vec(),
        ResourceKind::VmDir => VM_DIR.to_vec(),
    };
    LandlockPath {
        path: r.path.clone(),
        access: if is_dev { with_ioctl(&access) } else { access },
    }
}

/// `<serial type='unix'><source mode='bind'>`: QEMU creates (and removes) the socket,
/// so it needs those rights in the socket's directory.
fn bound_unix_sockets(dom: &Domain) -> Vec<LandlockPath> {
    dom.devices
        .serials
        .iter()
        .chain(&dom.devices.consoles)
        .chain(&dom.devices.channels)
        .filter_map(|c| match &c.source {
            ChardevSource::Unix {
                path,
                mode: UnixMode::Bind,
            } => Path::new(path).parent().map(|d| {
                rule(
                    d,
                    &[FsAccess::MakeSock, FsAccess::RemoveFile, FsAccess::ReadDir],
                )
            }),
            _ => None,
        })
        .collect()
}

/// The TCP ports of `<graphics>` (VNC's `port`, SPICE's `port` and `tlsPort`): QEMU binds
/// them. `true` when one is automatic: QEMU picks a free one itself, so binding cannot be
/// limited to a known port.
fn graphics_ports(dom: &Domain) -> (Vec<u16>, bool) {
    let mut ports = Vec::new();
    let mut automatic = false;
    for g in &dom.devices.graphics {
        let auto = g.autoport == Some(true) || matches!(g.port, None | Some(-1));
        automatic |= auto;
        for p in [(!auto).then_some(g.port).flatten(), g.tls_port]
            .into_iter()
            .flatten()
        {
            match u16::try_from(p) {
                Ok(p) if p > 0 => ports.push(p),
                _ => automatic |= p == -1,
            }
        }
    }
    (ports, automatic)
}

/// Every rule of the VM `dom` with host resources `resources`; `device_acl` is the
/// device nodes every VM may open (qemu.toml `cgroup_device_acl`).
pub fn vm_rules(dom: &Domain, resources: &[Resource], device_acl: &[String]) -> LandlockRules {
    let mut paths = Vec::new();
    if let Some(e) = &dom.devices.emulator {
        paths.push(rule(e, &[FsAccess::Execute, FsAccess::ReadFile]));
    }
    for d in LIBRARY_DIRS {
        paths.push(rule(*d, FsAccess::READ_EXECUTE));
    }
    for d in FIRMWARE_DIRS {
        paths.push(rule(*d, FsAccess::READ));
    }
    for f in SYSTEM_FILES {
        paths.push(rule(*f, &[FsAccess::ReadFile]));
    }
    // /proc: QEMU reads its own entries; another process's are guarded by Landlock's
    // ptrace rule (a domain never reaches a process outside it).
    paths.push(rule("/proc", FsAccess::READ));
    paths.push(rule("/dev/pts", &with_ioctl(FsAccess::READ_WRITE)));
    for dev in device_acl {
        paths.push(rule(dev, &with_ioctl(FsAccess::READ_WRITE)));
    }
    paths.extend(resources.iter().map(resource_rule));
    paths.extend(bound_unix_sockets(dom));
    let (ports, automatic) = graphics_ports(dom);
    let net = ports
        .into_iter()
        .map(|port| LandlockPort {
            port,
            access: vec![NetAccess::BindTcp],
        })
        .collect();
    LandlockRules {
        paths,
        net,
        scopes: vec![LandlockScope::AbstractUnixSocket, LandlockScope::Signal],
        unrestricted_net: if automatic {
            vec![NetAccess::BindTcp]
        } else {
            Vec::new()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxvirt_core::domain::parse_domain_xml;

    fn res(path: &str, kind: ResourceKind) -> Resource {
        Resource {
            path: path.into(),
            kind,
            relabel: true,
            label: None,
        }
    }

    fn access_of<'r>(r: &'r LandlockRules, path: &str) -> &'r [FsAccess] {
        &r.paths
            .iter()
            .find(|p| p.path == Path::new(path))
            .unwrap_or_else(|| panic!("no rule for {path}: {r:?}"))
            .access
    }

    #[test]
    fn each_resource_gets_the_access_its_use_needs() {
        let dom = parse_domain_xml(
            "<domain type='qemu'><name>v</name><memory>1024</memory><os><type>hvm</type></os>
             <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
             <graphics type='vnc' port='5905'/>
             <serial type='unix'><source mode='bind' path='/srv/sock/v.sock'/></serial>
             </devices></domain>",
        )
        .unwrap();
        let r = vm_rules(
            &dom,
            &[
                res(
                    "/img/rw.qcow2",
                    ResourceKind::Disk {
                        readonly: false,
                        shared: false,
                    },
                ),
                res(
                    "/img/ro.iso",
                    ResourceKind::Disk {
                        readonly: true,
                        shared: false,
                    },
                ),
                res("/img/base.qcow2", ResourceKind::BackingFile),
                res("/boot/vmlinuz", ResourceKind::BootFile),
                res("/dev/sdb", ResourceKind::Hostdev),
                res("/root/run/qemu/domain-1-v", ResourceKind::VmDir),
            ],
            &["/dev/null".into(), "/dev/kvm".into()],
        );
        assert_eq!(
            access_of(&r, "/usr/bin/qemu-system-x86_64"),
            [FsAccess::Execute, FsAccess::ReadFile]
        );
        assert_eq!(access_of(&r, "/img/rw.qcow2"), FsAccess::READ_WRITE);
        assert_eq!(access_of(&r, "/img/ro.iso"), FsAccess::READ);
        assert_eq!(access_of(&r, "/img/base.qcow2"), FsAccess::READ);
        assert_eq!(access_of(&r, "/boot/vmlinuz"), FsAccess::READ);
        assert!(access_of(&r, "/dev/sdb").contains(&FsAccess::IoctlDev));
        assert!(access_of(&r, "/dev/kvm").contains(&FsAccess::WriteFile));
        assert!(access_of(&r, "/root/run/qemu/domain-1-v").contains(&FsAccess::MakeSock));
        assert!(access_of(&r, "/srv/sock").contains(&FsAccess::MakeSock));
        assert!(!access_of(&r, "/usr/lib").contains(&FsAccess::WriteFile));
        assert!(
            !r.paths.iter().any(|p| p.path == Path::new("/etc")),
            "no rule for /etc"
        );
        assert_eq!(
            r.net,
            [LandlockPort {
                port: 5905,
                access: vec![NetAccess::BindTcp]
            }]
        );
        assert!(r.unrestricted_net.is_empty());
        assert_eq!(
            r.scopes,
            [LandlockScope::AbstractUnixSocket, LandlockScope::Signal]
        );
    }

    #[test]
    fn an_automatic_graphics_port_leaves_binding_unrestricted() {
        let dom = parse_domain_xml(
            "<domain type='qemu'><name>v</name><memory>1024</memory><os><type>hvm</type></os>
             <devices><graphics type='vnc' autoport='yes'/></devices></domain>",
        )
        .unwrap();
        let r = vm_rules(&dom, &[], &[]);
        assert!(r.net.is_empty());
        assert_eq!(r.unrestricted_net, [NetAccess::BindTcp]);
    }
}
