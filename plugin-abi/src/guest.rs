//! The plugin side: turn a Rust `SecurityBackend` or `Connection` into a function table.
//!
//! A plugin crate (`crate-type = ["cdylib"]`) exports its root module with abi_stable's
//! attribute and one of these builders:
//!
//! ```ignore
//! use oxvirt_plugin_abi::abi_stable::{export_root_module, prefix_type::PrefixTypeTrait};
//! #[export_root_module]
//! fn root_module() -> oxvirt_plugin_abi::PluginModRef {
//!     oxvirt_plugin_abi::guest::security_module("sample", create).leak_into_prefix()
//! }
//! ```
//!
//! Instances live in this library's own statics (each plugin links its own copy of this
//! crate), named by handles. Every call runs under `catch_unwind`: a panic in plugin code
//! becomes an [`FfiError`] ("plugin panicked: ...") instead of unwinding into the host.

use crate::abi::{
    DriverTable, FfiError, FfiResult, PluginKind, PluginMod, SecurityTable, VmData, ABI_VERSION,
};
use crate::wire::{from_json, to_json, WireInfo, WireKey, WireSecModel, WireSummary};
use abi_stable::std_types::{ROption, RResult, RStr, RString};
use oxvirt_core::domain::{parse_domain_xml, SecLabel, VirtType};
use oxvirt_core::driver::{Connection, DomainKey, ListFilter, XmlFlags};
use oxvirt_core::security::{BackendSettings, Resource, SecurityBackend, VmContext};
use oxvirt_core::uri::ConnectUri;
use oxvirt_core::{Error, Result};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Creates a backend instance from the host's settings.
pub type CreateBackend = fn(&BackendSettings) -> Result<Box<dyn SecurityBackend>>;
/// Opens a connection if the URI is for this driver.
pub type OpenDriver = fn(&ConnectUri) -> Result<Option<Box<dyn Connection>>>;

static CREATE: OnceLock<CreateBackend> = OnceLock::new();
static OPEN: OnceLock<OpenDriver> = OnceLock::new();
static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

type Handles<T> = Mutex<BTreeMap<u64, Arc<T>>>;
fn backends() -> &'static Handles<dyn SecurityBackend> {
    static B: OnceLock<Handles<dyn SecurityBackend>> = OnceLock::new();
    B.get_or_init(Default::default)
}
fn connections() -> &'static Handles<dyn Connection> {
    static C: OnceLock<Handles<dyn Connection>> = OnceLock::new();
    C.get_or_init(Default::default)
}

/// The root module of a security backend plugin with model `model`.
pub fn security_module(model: &'static str, create: CreateBackend) -> PluginMod {
    let _ = CREATE.set(create);
    PluginMod {
        abi_version: ABI_VERSION,
        kind: PluginKind::Security,
        name: RStr::from_str(model),
        security: ROption::RSome(SECURITY_TABLE),
        driver: ROption::RNone,
    }
}

/// The root module of a hypervisor driver plugin named `name`.
pub fn driver_module(name: &'static str, open: OpenDriver) -> PluginMod {
    let _ = OPEN.set(open);
    PluginMod {
        abi_version: ABI_VERSION,
        kind: PluginKind::Driver,
        name: RStr::from_str(name),
        security: ROption::RNone,
        driver: ROption::RSome(DRIVER_TABLE),
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".into())
}

/// Run plugin code: errors and panics become an [`FfiError`].
fn guard<T>(f: impl FnOnce() -> Result<T>) -> FfiResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => RResult::ROk(v),
        Ok(Err(e)) => RResult::RErr(FfiError::from(e)),
        Err(p) => RResult::RErr(FfiError::from(Error::internal(format!(
            "plugin panicked: {}",
            panic_message(p)
        )))),
    }
}

fn get<T: ?Sized>(map: &Handles<T>, handle: u64) -> Result<Arc<T>> {
    map.lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&handle)
        .cloned()
        .ok_or_else(|| Error::internal(format!("plugin: no instance with handle {handle}")))
}

fn insert<T: ?Sized>(map: &Handles<T>, v: Arc<T>) -> u64 {
    let h = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
    map.lock().unwrap_or_else(|e| e.into_inner()).insert(h, v);
    h
}

fn remove<T: ?Sized>(map: &Handles<T>, handle: u64) {
    let v = map
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&handle);
    // Drop outside the lock and never let a panicking Drop unwind into the host.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(v)));
}

// ---- security backend ----

fn backend(h: u64) -> Result<Arc<dyn SecurityBackend>> {
    get(backends(), h)
}

/// Rebuild core's `VmContext` from [`VmData`] and run `f` with it.
fn with_vm<T>(vm: &VmData, f: impl FnOnce(&VmContext) -> Result<T>) -> Result<T> {
    let dom = parse_domain_xml(vm.domain_xml.as_str())?;
    let uuid = vm
        .uuid
        .as_str()
        .parse()
        .map_err(|e| Error::internal(format!("plugin ABI: bad VM uuid '{}': {e}", vm.uuid)))?;
    let virt_type = if vm.virt_type.as_str() == "kvm" {
        VirtType::Kvm
    } else {
        VirtType::Qemu
    };
    f(&VmContext {
        domain: &dom,
        name: vm.name.as_str(),
        uuid,
        virt_type,
        privileged: vm.privileged,
    })
}

fn label(s: RStr<'_>) -> Result<SecLabel> {
    from_json("security label", s.as_str())
}

extern "C" fn sec_create(settings: RStr<'_>) -> FfiResult<u64> {
    guard(|| {
        let settings: BackendSettings = from_json("backend settings", settings.as_str())?;
        let create = CREATE
            .get()
            .ok_or_else(|| Error::internal("plugin: no security backend constructor"))?;
        let b: Arc<dyn SecurityBackend> = Arc::from(create(&settings)?);
        Ok(insert(backends(), b))
    })
}
extern "C" fn sec_destroy(h: u64) {
    remove(backends(), h)
}
extern "C" fn sec_model(h: u64) -> RString {
    guard(|| Ok(backend(h)?.model().to_string()))
        .unwrap_or_else(|_| String::new())
        .into()
}
extern "C" fn sec_doi(h: u64) -> RString {
    guard(|| Ok(backend(h)?.doi().to_string()))
        .unwrap_or_else(|_| "0".into())
        .into()
}
extern "C" fn sec_probe(h: u64) -> FfiResult<bool> {
    guard(|| backend(h)?.probe())
}
extern "C" fn sec_gen_label(h: u64, vm: &VmData, requested: RStr<'_>) -> FfiResult<RString> {
    guard(|| {
        let req: Option<SecLabel> = from_json("requested label", requested.as_str())?;
        let l = with_vm(vm, |ctx| backend(h)?.gen_label(ctx, req.as_ref()))?;
        Ok(to_json(&l)?.into())
    })
}
extern "C" fn sec_reserve_label(h: u64, vm: &VmData, l: RStr<'_>) -> FfiResult<()> {
    guard(|| with_vm(vm, |ctx| backend(h)?.reserve_label(ctx, &label(l)?)))
}
extern "C" fn sec_release_label(h: u64, vm: &VmData, l: RStr<'_>) -> FfiResult<()> {
    guard(|| with_vm(vm, |ctx| backend(h)?.release_label(ctx, &label(l)?)))
}
extern "C" fn sec_set_all(h: u64, vm: &VmData, l: RStr<'_>, r: RStr<'_>) -> FfiResult<()> {
    guard(|| {
        let res: Vec<Resource> = from_json("resources", r.as_str())?;
        with_vm(vm, |ctx| backend(h)?.set_all_labels(ctx, &label(l)?, &res))
    })
}
extern "C" fn sec_restore_all(h: u64, vm: &VmData, l: RStr<'_>, r: RStr<'_>) -> FfiResult<()> {
    guard(|| {
        let res: Vec<Resource> = from_json("resources", r.as_str())?;
        with_vm(vm, |ctx| {
            backend(h)?.restore_all_labels(ctx, &label(l)?, &res)
        })
    })
}

type OneResourceHook = fn(&dyn SecurityBackend, &VmContext, &SecLabel, &Resource) -> Result<()>;

fn one_resource(
    h: u64,
    vm: &VmData,
    l: RStr<'_>,
    r: RStr<'_>,
    hook: OneResourceHook,
) -> FfiResult<()> {
    guard(|| {
        let res: Resource = from_json("resource", r.as_str())?;
        with_vm(vm, |ctx| hook(backend(h)?.as_ref(), ctx, &label(l)?, &res))
    })
}
extern "C" fn sec_set_image(h: u64, vm: &VmData, l: RStr<'_>, r: RStr<'_>) -> FfiResult<()> {
    one_resource(h, vm, l, r, |b, c, l, r| b.set_image_label(c, l, r))
}
extern "C" fn sec_restore_image(h: u64, vm: &VmData, l: RStr<'_>, r: RStr<'_>) -> FfiResult<()> {
    one_resource(h, vm, l, r, |b, c, l, r| b.restore_image_label(c, l, r))
}
extern "C" fn sec_set_hostdev(h: u64, vm: &VmData, l: RStr<'_>, r: RStr<'_>) -> FfiResult<()> {
    one_resource(h, vm, l, r, |b, c, l, r| b.set_hostdev_label(c, l, r))
}
extern "C" fn sec_restore_hostdev(h: u64, vm: &VmData, l: RStr<'_>, r: RStr<'_>) -> FfiResult<()> {
    one_resource(h, vm, l, r, |b, c, l, r| b.restore_hostdev_label(c, l, r))
}
extern "C" fn sec_child_confinement(h: u64, vm: &VmData, l: RStr<'_>) -> FfiResult<RString> {
    guard(|| {
        let c = with_vm(vm, |ctx| backend(h)?.child_confinement(ctx, &label(l)?))?;
        Ok(to_json(&c)?.into())
    })
}
extern "C" fn sec_secmodel(h: u64) -> FfiResult<RString> {
    guard(|| Ok(to_json(&WireSecModel::from(backend(h)?.secmodel()))?.into()))
}
extern "C" fn sec_live_seclabel(h: u64, l: RStr<'_>) -> FfiResult<RString> {
    guard(|| Ok(to_json(&backend(h)?.live_seclabel(&label(l)?))?.into()))
}

const SECURITY_TABLE: SecurityTable = SecurityTable {
    create: sec_create,
    destroy: sec_destroy,
    model: sec_model,
    doi: sec_doi,
    probe: sec_probe,
    gen_label: sec_gen_label,
    reserve_label: sec_reserve_label,
    release_label: sec_release_label,
    set_all_labels: sec_set_all,
    restore_all_labels: sec_restore_all,
    set_image_label: sec_set_image,
    restore_image_label: sec_restore_image,
    set_hostdev_label: sec_set_hostdev,
    restore_hostdev_label: sec_restore_hostdev,
    child_confinement: sec_child_confinement,
    secmodel: sec_secmodel,
    live_seclabel: sec_live_seclabel,
};

// ---- hypervisor driver ----

fn conn(h: u64) -> Result<Arc<dyn Connection>> {
    get(connections(), h)
}
fn key(s: RStr<'_>) -> Result<DomainKey> {
    Ok(from_json::<WireKey>("domain key", s.as_str())?.into())
}
fn summary(s: &oxvirt_core::driver::DomainSummary) -> Result<RString> {
    Ok(to_json(&WireSummary::from(s))?.into())
}

extern "C" fn drv_open(uri: RStr<'_>) -> FfiResult<ROption<u64>> {
    guard(|| {
        let parsed = ConnectUri::parse(uri.as_str())?;
        let open = OPEN
            .get()
            .ok_or_else(|| Error::internal("plugin: no driver open function"))?;
        Ok(match open(&parsed)? {
            Some(c) => ROption::RSome(insert(connections(), Arc::from(c))),
            None => ROption::RNone,
        })
    })
}
extern "C" fn drv_close(h: u64) {
    remove(connections(), h)
}
extern "C" fn drv_uri(h: u64) -> RString {
    guard(|| Ok(conn(h)?.uri()))
        .unwrap_or_else(|_| String::new())
        .into()
}
extern "C" fn drv_hypervisor_type(h: u64) -> RString {
    guard(|| Ok(conn(h)?.hypervisor_type().to_string()))
        .unwrap_or_else(|_| String::new())
        .into()
}
extern "C" fn drv_hypervisor_version(h: u64) -> FfiResult<u64> {
    guard(|| conn(h)?.hypervisor_version())
}
extern "C" fn drv_list(h: u64, active: bool, inactive: bool) -> FfiResult<RString> {
    guard(|| {
        let rows = conn(h)?.list(ListFilter { active, inactive })?;
        let w: Vec<WireSummary> = rows.iter().map(WireSummary::from).collect();
        Ok(to_json(&w)?.into())
    })
}
extern "C" fn drv_lookup(h: u64, k: RStr<'_>) -> FfiResult<RString> {
    guard(|| summary(&conn(h)?.lookup(&key(k)?)?))
}
extern "C" fn drv_define_xml(h: u64, xml: RStr<'_>) -> FfiResult<RString> {
    guard(|| summary(&conn(h)?.define_xml(xml.as_str())?))
}
extern "C" fn drv_undefine(h: u64, k: RStr<'_>) -> FfiResult<()> {
    guard(|| conn(h)?.undefine(&key(k)?))
}
extern "C" fn drv_create_xml(h: u64, xml: RStr<'_>) -> FfiResult<RString> {
    guard(|| summary(&conn(h)?.create_xml(xml.as_str())?))
}
extern "C" fn drv_start(h: u64, k: RStr<'_>) -> FfiResult<RString> {
    guard(|| summary(&conn(h)?.start(&key(k)?)?))
}
extern "C" fn drv_shutdown(h: u64, k: RStr<'_>) -> FfiResult<()> {
    guard(|| conn(h)?.shutdown(&key(k)?))
}
extern "C" fn drv_destroy(h: u64, k: RStr<'_>) -> FfiResult<()> {
    guard(|| conn(h)?.destroy(&key(k)?))
}
extern "C" fn drv_suspend(h: u64, k: RStr<'_>) -> FfiResult<()> {
    guard(|| conn(h)?.suspend(&key(k)?))
}
extern "C" fn drv_resume(h: u64, k: RStr<'_>) -> FfiResult<()> {
    guard(|| conn(h)?.resume(&key(k)?))
}
extern "C" fn drv_info(h: u64, k: RStr<'_>) -> FfiResult<RString> {
    guard(|| Ok(to_json(&WireInfo::from(&conn(h)?.info(&key(k)?)?))?.into()))
}
extern "C" fn drv_xml(h: u64, k: RStr<'_>, inactive: bool, secure: bool) -> FfiResult<RString> {
    guard(|| {
        Ok(conn(h)?
            .xml(&key(k)?, XmlFlags { inactive, secure })?
            .into())
    })
}
extern "C" fn drv_hostname(h: u64) -> FfiResult<RString> {
    guard(|| Ok(conn(h)?.hostname()?.into()))
}
extern "C" fn drv_capabilities(h: u64) -> FfiResult<RString> {
    guard(|| Ok(conn(h)?.capabilities()?.into()))
}
extern "C" fn drv_xml_to_native(h: u64, format: RStr<'_>, xml: RStr<'_>) -> FfiResult<RString> {
    guard(|| {
        Ok(conn(h)?
            .xml_to_native(format.as_str(), xml.as_str())?
            .into())
    })
}
extern "C" fn drv_monitor_command(
    h: u64,
    k: RStr<'_>,
    command: RStr<'_>,
    hmp: bool,
) -> FfiResult<RString> {
    guard(|| {
        Ok(conn(h)?
            .monitor_command(&key(k)?, command.as_str(), hmp)?
            .into())
    })
}

const DRIVER_TABLE: DriverTable = DriverTable {
    open: drv_open,
    close: drv_close,
    uri: drv_uri,
    hypervisor_type: drv_hypervisor_type,
    hypervisor_version: drv_hypervisor_version,
    list: drv_list,
    lookup: drv_lookup,
    define_xml: drv_define_xml,
    undefine: drv_undefine,
    create_xml: drv_create_xml,
    start: drv_start,
    shutdown: drv_shutdown,
    destroy: drv_destroy,
    suspend: drv_suspend,
    resume: drv_resume,
    info: drv_info,
    xml: drv_xml,
    hostname: drv_hostname,
    capabilities: drv_capabilities,
    xml_to_native: drv_xml_to_native,
    monitor_command: drv_monitor_command,
};

#[cfg(test)]
mod tests {
    //! The tables called in-process: the host adapter over the guest functions, and a
    //! panic in backend code coming back as an error.
    use super::*;
    use crate::host::PluginSecurityBackend;
    use oxvirt_core::domain::Domain;
    use oxvirt_core::security::ChildConfinement;
    use std::path::Path;

    struct Panicky;
    impl SecurityBackend for Panicky {
        fn model(&self) -> &str {
            "panicky"
        }
        fn probe(&self) -> Result<bool> {
            panic!("probe exploded")
        }
        fn gen_label(&self, vm: &VmContext, _: Option<&SecLabel>) -> Result<SecLabel> {
            Ok(SecLabel {
                label: Some(format!("l-{}", vm.name)),
                ..Default::default()
            })
        }
        fn set_all_labels(&self, _: &VmContext, _: &SecLabel, r: &[Resource]) -> Result<()> {
            Err(Error::internal(format!("{} resources", r.len())))
        }
        fn restore_all_labels(&self, _: &VmContext, _: &SecLabel, _: &[Resource]) -> Result<()> {
            Ok(())
        }
        fn child_confinement(&self, _: &VmContext, _: &SecLabel) -> Result<ChildConfinement> {
            Ok(ChildConfinement {
                uid: Some(107),
                ..Default::default()
            })
        }
    }

    #[test]
    fn host_adapter_round_trips_and_panics_become_errors() {
        let module = security_module("panicky", |_| Ok(Box::new(Panicky)));
        let table = module.security.into_option().unwrap();
        let b =
            PluginSecurityBackend::create(table, Path::new("/p.so"), &Default::default()).unwrap();
        assert_eq!(b.model(), "panicky");
        let e = b.probe().unwrap_err();
        assert!(e.message.contains("plugin panicked: probe exploded"), "{e}");

        let dom: Domain = parse_domain_xml(
            "<domain type='qemu'><name>vm1</name><memory>65536</memory>\
             <os><type>hvm</type></os></domain>",
        )
        .unwrap();
        let vm = VmContext {
            domain: &dom,
            name: "vm1",
            uuid: dom.uuid,
            virt_type: VirtType::Qemu,
            privileged: false,
        };
        let l = b.gen_label(&vm, None).unwrap();
        assert_eq!(l.label.as_deref(), Some("l-vm1"));
        let e = b.set_all_labels(&vm, &l, &[]).unwrap_err();
        assert_eq!(e.message, "0 resources");
        assert_eq!(b.child_confinement(&vm, &l).unwrap().uid, Some(107));
    }
}
