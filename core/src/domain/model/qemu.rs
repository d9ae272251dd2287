//! The `qemu:` namespace: `<qemu:commandline>` and `<qemu:capabilities>`.

/// `<qemu:commandline>`: extra arguments and environment for the QEMU process.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QemuCommandline {
    pub args: Vec<String>,
    /// `<qemu:env name= value=>`; the value may be absent.
    pub env: Vec<(String, Option<String>)>,
}

/// `<qemu:capabilities>`: capability flags to add or remove.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QemuCapabilities {
    pub add: Vec<String>,
    pub del: Vec<String>,
}
