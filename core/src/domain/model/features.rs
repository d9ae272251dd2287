//! `<features>`: hypervisor features of the machine — ACPI, APIC, PAE, HAP, vmport,
//! PMU, SMM, the IOAPIC driver, the KVM and Hyper-V paravirtual features, pvspinlock.

/// `<features>`: `acpi`, `apic`, `pae` are on when present; the rest are `None` when
/// absent (QEMU's default) and carry their `state` when given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Features {
    pub acpi: bool,
    pub apic: bool,
    /// `<apic eoi='on|off'/>`: the KVM paravirtual end-of-interrupt.
    pub apic_eoi: Option<bool>,
    pub pae: bool,
    /// `<hap/>` or `<hap state='on|off'/>`: `Some(None)` for a bare `<hap/>`.
    pub hap: Option<Option<bool>>,
    /// `<vmport state='on|off'/>` (x86 only); `None` when absent.
    pub vmport: Option<bool>,
    /// `<pmu state='on|off'/>`.
    pub pmu: Option<bool>,
    /// `<smm state='on|off'>` with an optional `<tseg>` size.
    pub smm: Option<Smm>,
    /// `<ioapic driver='kvm|qemu'/>`.
    pub ioapic: Option<String>,
    /// `<kvm>`.
    pub kvm: Option<KvmFeatures>,
    /// `<hyperv mode=..>`.
    pub hyperv: Option<Hyperv>,
    /// `<pvspinlock state='on|off'/>`; `Some(None)` for a bare `<pvspinlock/>`.
    pub pvspinlock: Option<Option<bool>>,
}

/// `<smm state=..><tseg unit=..>N</tseg></smm>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Smm {
    /// `None`: a bare `<smm/>`, which means on.
    pub state: Option<bool>,
    /// The extended TSEG size, in MiB (libvirt stores it in bytes; QEMU takes MiB).
    pub tseg_mib: Option<u64>,
}

/// `<kvm>`: each child's `state`, `None` when the child is absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KvmFeatures {
    pub hidden: Option<bool>,
    pub hint_dedicated: Option<bool>,
    pub poll_control: Option<bool>,
    pub pv_ipi: Option<bool>,
}

/// `<hyperv mode='custom|passthrough'>` and its enlightenments, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hyperv {
    pub mode: Option<String>,
    pub features: Vec<HypervFeature>,
}

/// One enlightenment: `<relaxed state='on'/>`, `<spinlocks state='on' retries='N'/>`,
/// `<vendor_id state='on' value='..'/>`, `<stimer state='on'><direct state='on'/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HypervFeature {
    pub name: String,
    pub state: bool,
    /// `spinlocks retries`.
    pub retries: Option<u32>,
    /// `vendor_id value`.
    pub value: Option<String>,
    /// `stimer`'s `<direct state=..>`.
    pub direct: Option<bool>,
}

/// The Hyper-V enlightenments libvirt 9.0 knows, with QEMU's property name.
pub const HYPERV_FEATURES: &[(&str, &str)] = &[
    ("relaxed", "hv-relaxed"),
    ("vapic", "hv-vapic"),
    ("spinlocks", "hv-spinlocks"),
    ("vpindex", "hv-vpindex"),
    ("runtime", "hv-runtime"),
    ("synic", "hv-synic"),
    ("stimer", "hv-stimer"),
    ("reset", "hv-reset"),
    ("vendor_id", "hv-vendor-id"),
    ("frequencies", "hv-frequencies"),
    ("reenlightenment", "hv-reenlightenment"),
    ("tlbflush", "hv-tlbflush"),
    ("ipi", "hv-ipi"),
    ("evmcs", "hv-evmcs"),
    ("avic", "hv-avic"),
];
