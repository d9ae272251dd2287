//! The domain model: what a libvirt `<domain>` document says, as plain data.
//!
//! Parsing lives in `parse.rs`, formatting in `format.rs`; drivers read this model and
//! never the XML. Field names follow the XML element and attribute names.

use uuid::Uuid;

/// `<domain type=...>`: which accelerator runs the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VirtType {
    /// TCG, software emulation.
    #[default]
    Qemu,
    /// KVM, hardware acceleration.
    Kvm,
}

impl VirtType {
    pub fn as_str(self) -> &'static str {
        match self {
            VirtType::Qemu => "qemu",
            VirtType::Kvm => "kvm",
        }
    }
}

/// A whole domain definition.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Domain {
    pub virt_type: VirtType,
    /// The `id` attribute of a running domain's live XML; never part of a definition.
    pub id: Option<u32>,
    pub name: String,
    pub uuid: Uuid,
    pub title: Option<String>,
    pub description: Option<String>,
    /// `<metadata>`: other applications' namespaced XML, kept verbatim.
    pub metadata: Option<Metadata>,
    /// Maximum memory in KiB (`<memory>` after unit conversion).
    pub memory_kib: u64,
    /// `<currentMemory>` in KiB, when given.
    pub current_memory_kib: Option<u64>,
    pub vcpu: Vcpu,
    pub os: Os,
    pub features: Features,
    pub cpu: Option<Cpu>,
    pub clock: Option<Clock>,
    pub on_poweroff: Option<LifecycleAction>,
    pub on_reboot: Option<LifecycleAction>,
    pub on_crash: Option<LifecycleAction>,
    pub devices: Devices,
    /// Domain-level `<seclabel>` elements.
    pub seclabels: Vec<SecLabel>,
    /// `<qemu:commandline>`.
    pub qemu_commandline: Option<QemuCommandline>,
    /// `<qemu:capabilities>`.
    pub qemu_capabilities: Option<QemuCapabilities>,
    /// `<pm>`: guest power management (virt-install writes both as disabled).
    pub pm: Option<Pm>,
}

/// `<metadata>`: each child element's exact source text (it declares its own
/// namespace, as libvirt's dumpxml writes it). oxvirt never interprets it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    pub elements: Vec<String>,
}

/// `<pm><suspend-to-mem enabled=..><suspend-to-disk enabled=..></pm>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pm {
    pub suspend_to_mem: Option<bool>,
    pub suspend_to_disk: Option<bool>,
}

impl Domain {
    /// Memory the guest starts with, in KiB.
    pub fn current_memory_kib(&self) -> u64 {
        self.current_memory_kib.unwrap_or(self.memory_kib)
    }
    pub fn on_poweroff(&self) -> LifecycleAction {
        self.on_poweroff.unwrap_or(LifecycleAction::Destroy)
    }
    pub fn on_reboot(&self) -> LifecycleAction {
        self.on_reboot.unwrap_or(LifecycleAction::Restart)
    }
    pub fn on_crash(&self) -> LifecycleAction {
        self.on_crash.unwrap_or(LifecycleAction::Destroy)
    }
}

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

/// `<os>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Os {
    /// `<type>` text: `hvm` for every QEMU guest.
    pub os_type: String,
    pub arch: Option<String>,
    pub machine: Option<String>,
    /// `<boot dev=..>` in order.
    pub boot: Vec<BootDev>,
    /// `<bootmenu enable='yes|no'>`.
    pub bootmenu: Option<bool>,
    pub kernel: Option<String>,
    pub initrd: Option<String>,
    pub cmdline: Option<String>,
    /// `<loader>` path (firmware), when given.
    pub loader: Option<String>,
    /// `<loader readonly='yes|no'>`.
    pub loader_readonly: Option<bool>,
    /// `<loader type='rom|pflash'>`.
    pub loader_type: Option<String>,
    /// `<nvram template=..>PATH</nvram>`.
    pub nvram: Option<Nvram>,
}

/// `<nvram template=..>PATH</nvram>`: the UEFI variable store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Nvram {
    pub path: Option<String>,
    pub template: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootDev {
    Hd,
    Cdrom,
    Fd,
    Network,
}

impl BootDev {
    pub fn as_str(self) -> &'static str {
        match self {
            BootDev::Hd => "hd",
            BootDev::Cdrom => "cdrom",
            BootDev::Fd => "fd",
            BootDev::Network => "network",
        }
    }
}

/// `<features>`: each is on when present.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Features {
    pub acpi: bool,
    pub apic: bool,
    pub pae: bool,
    /// `<vmport state='on|off'/>` (x86 only); `None` when absent.
    pub vmport: Option<bool>,
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

/// `<clock offset=..>`; the old `sync` attribute of libvirt 0.7 means the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub offset: ClockOffset,
    pub timers: Vec<Timer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockOffset {
    Utc,
    Localtime,
}

/// `<timer name=.. tickpolicy=.. present=..>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    pub name: String,
    pub tickpolicy: Option<String>,
    pub present: Option<bool>,
}

/// `on_poweroff`, `on_reboot`, `on_crash` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleAction {
    Destroy,
    Restart,
    Preserve,
    RenameRestart,
    CoredumpDestroy,
    CoredumpRestart,
}

impl LifecycleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleAction::Destroy => "destroy",
            LifecycleAction::Restart => "restart",
            LifecycleAction::Preserve => "preserve",
            LifecycleAction::RenameRestart => "rename-restart",
            LifecycleAction::CoredumpDestroy => "coredump-destroy",
            LifecycleAction::CoredumpRestart => "coredump-restart",
        }
    }
}

/// `<devices>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Devices {
    pub emulator: Option<String>,
    pub disks: Vec<Disk>,
    pub controllers: Vec<Controller>,
    pub interfaces: Vec<Interface>,
    pub serials: Vec<Chardev>,
    pub consoles: Vec<Chardev>,
    pub channels: Vec<Chardev>,
    pub inputs: Vec<Input>,
    pub graphics: Vec<Graphics>,
    pub videos: Vec<Video>,
    pub memballoon: Option<Memballoon>,
    pub rngs: Vec<Rng>,
    pub sounds: Vec<Sound>,
    pub audios: Vec<Audio>,
    pub redirdevs: Vec<Redirdev>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiskType {
    #[default]
    File,
    Block,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiskDevice {
    #[default]
    Disk,
    Cdrom,
    Floppy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskBus {
    Ide,
    Sata,
    Scsi,
    Virtio,
    Fdc,
    Usb,
}

impl DiskBus {
    pub fn as_str(self) -> &'static str {
        match self {
            DiskBus::Ide => "ide",
            DiskBus::Sata => "sata",
            DiskBus::Scsi => "scsi",
            DiskBus::Virtio => "virtio",
            DiskBus::Fdc => "fdc",
            DiskBus::Usb => "usb",
        }
    }
}

/// `<disk>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disk {
    pub disk_type: DiskType,
    pub device: DiskDevice,
    /// `<driver name= type= cache=>`.
    pub driver_name: Option<String>,
    pub driver_type: Option<String>,
    pub driver_cache: Option<String>,
    /// `<driver discard='unmap|ignore'>`.
    pub driver_discard: Option<String>,
    /// `<source file=..>` or `<source dev=..>`; `None` for an empty cdrom.
    pub source: Option<String>,
    /// `<target dev=..>`.
    pub target_dev: String,
    /// `<target bus=..>`; when absent it is derived from `target_dev`'s prefix.
    pub target_bus: Option<DiskBus>,
    pub readonly: bool,
    pub shareable: bool,
    /// `<boot order=N>`.
    pub boot_order: Option<u32>,
    /// `<serial>`.
    pub serial: Option<String>,
    /// Per-disk `<source><seclabel>` elements.
    pub seclabels: Vec<SecLabel>,
    pub address: Option<Address>,
}

impl Disk {
    /// The bus: explicit, or what libvirt derives from the target name.
    pub fn bus(&self) -> DiskBus {
        if let Some(b) = self.target_bus {
            return b;
        }
        let t = self.target_dev.as_str();
        if t.starts_with("vd") {
            DiskBus::Virtio
        } else if t.starts_with("sd") {
            DiskBus::Scsi
        } else if t.starts_with("fd") {
            DiskBus::Fdc
        } else {
            DiskBus::Ide
        }
    }
}

/// A device `<address>` kept as its attributes, in order, so nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub attrs: Vec<(String, String)>,
}

/// `<controller type= index= model=>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Controller {
    pub controller_type: String,
    pub index: Option<u32>,
    pub model: Option<String>,
    pub ports: Option<u32>,
    /// `<model name=..>` (the QEMU device of a PCI controller, e.g. `pcie-root-port`).
    pub model_name: Option<String>,
    /// `<target chassis= port= busNr= hotplug=>` of a PCI controller.
    pub target: Option<ControllerTarget>,
    /// `<driver ...>` attributes in order (queues, iothread, ...), kept verbatim.
    pub driver: Option<Vec<(String, String)>>,
    pub address: Option<Address>,
}

/// `<controller type='pci'><target chassis= port= busNr= hotplug=>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControllerTarget {
    pub chassis: Option<u32>,
    /// Written in hex by libvirt (`0x10`); kept as written.
    pub port: Option<String>,
    pub bus_nr: Option<u32>,
    pub hotplug: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceType {
    User,
    /// `<source network=..>`.
    Network(String),
    /// `<source bridge=..>`.
    Bridge(String),
}

/// `<interface>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub iface_type: InterfaceType,
    /// `<mac address=..>`.
    pub mac: Option<String>,
    /// `<model type=..>`.
    pub model: Option<String>,
    pub boot_order: Option<u32>,
    pub address: Option<Address>,
}

/// The host side of a serial port, console or channel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ChardevSource {
    #[default]
    Pty,
    /// `type='file'`: `<source path=.. append=..>`.
    File {
        path: String,
        append: Option<bool>,
    },
    /// `type='unix'`: `<source mode='bind|connect' path=..>`.
    Unix {
        path: String,
        mode: UnixMode,
    },
    Null,
    Stdio,
    /// `type='spicevmc'` (channels).
    Spicevmc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnixMode {
    Bind,
    Connect,
}

/// `<serial>`, `<console>` or `<channel>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chardev {
    pub source: ChardevSource,
    /// `<target type= port=>` for serial/console; `<target type= name=>` for channels.
    pub target_type: Option<String>,
    pub target_port: Option<u32>,
    pub target_name: Option<String>,
    /// `<target><model name=..>` of a serial port (`isa-serial`, ...).
    pub target_model: Option<String>,
    /// `<log file=.. append=..>`.
    pub log_file: Option<String>,
    pub log_append: Option<bool>,
    pub address: Option<Address>,
}

/// `<input type= bus=>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Input {
    pub input_type: String,
    pub bus: Option<String>,
    pub address: Option<Address>,
}

/// `<graphics type='vnc|spice'>`; other types are rejected at parse time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Graphics {
    pub graphics_type: String,
    /// `port`: -1 (or absent with autoport) means "pick one".
    pub port: Option<i32>,
    pub autoport: Option<bool>,
    /// `listen` attribute or `<listen type='address' address=..>`.
    pub listen: Option<String>,
    pub keymap: Option<String>,
    pub passwd: Option<String>,
    /// spice `tlsPort` (-1: pick one).
    pub tls_port: Option<i32>,
    /// spice `<image compression=..>`.
    pub image_compression: Option<String>,
}

/// `<video><model type= ram= vram= vgamem= heads= primary=></video>` (sizes in KiB).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Video {
    pub model: String,
    pub ram: Option<u64>,
    pub vram: Option<u64>,
    pub vgamem: Option<u64>,
    pub heads: Option<u32>,
    pub primary: Option<bool>,
    pub address: Option<Address>,
}

/// `<memballoon model=..>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Memballoon {
    /// `virtio` or `none`.
    pub model: String,
    pub address: Option<Address>,
}

/// `<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rng {
    pub model: String,
    pub backend_model: String,
    /// The random backend's device, e.g. `/dev/urandom`.
    pub backend_dev: Option<String>,
    pub address: Option<Address>,
}

/// `<sound model='ich9|ich6|ac97|...'>` with optional `<codec type=..>`s.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sound {
    pub model: String,
    pub codecs: Vec<String>,
    pub address: Option<Address>,
}

/// `<audio id=N type=..>`: a host audio backend (`none`, `spice`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audio {
    pub id: u32,
    pub audio_type: String,
}

/// `<redirdev bus='usb' type='spicevmc'>`: USB redirection over spice.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Redirdev {
    pub bus: String,
    pub redir_type: String,
    pub address: Option<Address>,
}

/// `<seclabel type= model= relabel=>` with `<label>`, `<imagelabel>`, `<baselabel>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SecLabel {
    /// `dynamic`, `static` or `none`; absent on per-disk seclabels.
    pub label_type: Option<String>,
    pub model: Option<String>,
    pub relabel: Option<bool>,
    pub label: Option<String>,
    pub imagelabel: Option<String>,
    pub baselabel: Option<String>,
}

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
