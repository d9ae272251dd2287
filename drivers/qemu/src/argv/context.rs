//! What the command line needs from the host that is not in the domain XML.

use std::path::Path;

/// Host-side facts the command line needs that are not in the domain XML.
#[derive(Debug, Clone)]
pub struct ArgvContext<'a> {
    /// The QEMU binary to run (the domain's `<emulator>` or the probed default).
    pub emulator: &'a Path,
    /// The QMP socket QEMU listens on (`server=on,wait=off`).
    pub monitor_socket: &'a Path,
    /// The VM's private directory (`lib/qemu/domain-ID-NAME`), for other sockets.
    pub domain_dir: &'a Path,
    /// `true` for `domxml-to-native`: nothing on the host is touched or allocated.
    /// Interfaces that need a tap device print as `-netdev tap,fd=N` placeholders
    /// (as libvirt does) and an autoport VNC display prints as display 0. `false` for
    /// a real start, where such interfaces are an error and a free VNC port is found.
    pub for_native_export: bool,
    /// qemu.toml `seccomp_sandbox`: 0 turns QEMU's seccomp sandbox off, -1 (the default)
    /// and 1 turn it on with libvirt's options.
    pub seccomp_sandbox: i32,
    /// qemu.toml `vnc_listen`: the address a `<graphics type='vnc'>` without `listen`
    /// listens on.
    pub vnc_listen: &'a str,
}
