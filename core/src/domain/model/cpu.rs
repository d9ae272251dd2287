//! vCPUs and the CPU the guest sees: `<vcpu>`, `<cpu>` with its model, topology and
//! features.

/// `<vcpu placement=.. current=..>N</vcpu>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vcpu {
    pub count: u32,
    pub current: Option<u32>,
    pub placement: Option<String>,
}

impl Default for Vcpu {
    fn default() -> Self {
        Vcpu {
            count: 1,
            current: None,
            placement: None,
        }
    }
}

/// `<cpu mode=.. match=.. check=..>` with an optional `<model>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cpu {
    pub mode: Option<String>,
    pub match_: Option<String>,
    pub check: Option<String>,
    pub model: Option<String>,
    pub model_fallback: Option<String>,
    /// `<topology sockets= dies= cores= threads=>`.
    pub topology: Option<CpuTopology>,
    /// `<feature policy= name=>` in order.
    pub features: Vec<CpuFeature>,
}

/// `<cpu><topology>`: every count is optional in the XML; libvirt fills in 1.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuTopology {
    pub sockets: Option<u32>,
    pub dies: Option<u32>,
    pub cores: Option<u32>,
    pub threads: Option<u32>,
}

/// `<cpu><feature policy='force|require|optional|disable|forbid' name=..>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuFeature {
    pub policy: Option<String>,
    pub name: String,
}
