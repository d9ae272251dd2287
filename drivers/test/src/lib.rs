//! libvirt's in-memory test driver, `test:///default`.
//!
//! One predefined domain, `test` (uuid `6695eb01-f6a4-8304-79aa-97f2502e193f`, id 1,
//! running, 8 GiB max / 2 GiB current memory, 2 vCPUs), as libvirt's built-in default
//! configuration has it; define, undefine, create, start, shutdown, destroy, suspend,
//! resume, list, lookup, info and xml act on an in-memory table.
//!
//! The state belongs to the process: every connection to `test:///default` in one
//! process shares it (as libvirt's does), and it is gone when the process exits — one
//! `oxvirt` CLI invocation sees the initial state. Definitions are kept as the XML text
//! given (libvirt would normalise it); the live XML gets `id='N'` on the root.
//! `test:///PATH` (a custom configuration file) is not supported.
//!
//! The crate registers itself with `inventory` (link it to get `test:///` built in); the
//! `oxvirt-driver-test-plugin` crate wraps it as an external plugin `.so`.

use oxvirt_core::domain::xmltree::{parse_tree, Node};
use oxvirt_core::driver::{
    Connection, DomainInfo, DomainKey, DomainState, DomainSummary, ListFilter, SecurityInfo,
    StateReason, XmlFlags,
};
use oxvirt_core::registry::DriverRegistration;
use oxvirt_core::uri::ConnectUri;
use oxvirt_core::{Error, ErrorCode, ErrorDomain, Result};
use std::sync::{Mutex, MutexGuard, OnceLock};
use uuid::Uuid;

/// The driver's name as `virsh version` prints it.
pub const HYPERVISOR_TYPE: &str = "TEST";

/// libvirt's default test domain, as `virsh -c test:///default dumpxml --inactive test`.
pub const DEFAULT_DOMAIN_XML: &str = "<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
";

#[derive(Debug, Clone)]
struct TestDomain {
    name: String,
    uuid: Uuid,
    /// The definition as given, without `id`.
    xml: String,
    id: Option<u32>,
    state: DomainState,
    reason: StateReason,
    persistent: bool,
    max_mem_kib: u64,
    memory_kib: u64,
    vcpus: u32,
}

impl TestDomain {
    fn summary(&self) -> DomainSummary {
        DomainSummary {
            name: self.name.clone(),
            uuid: self.uuid,
            id: self.id,
            state: self.state,
            reason: self.reason,
            persistent: self.persistent,
        }
    }
    fn active(&self) -> bool {
        self.state.is_active()
    }
}

struct State {
    domains: Vec<TestDomain>,
    next_id: u32,
}

fn state() -> MutexGuard<'static, State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE
        .get_or_init(|| {
            let mut d = from_xml(DEFAULT_DOMAIN_XML).expect("the built-in test domain parses");
            d.id = Some(1);
            d.state = DomainState::Running;
            d.reason = StateReason::Booted;
            d.persistent = true;
            Mutex::new(State {
                domains: vec![d],
                next_id: 2,
            })
        })
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn child<'a>(n: &'a Node, name: &str) -> Option<&'a Node> {
    n.children.iter().find(|c| c.name == name)
}

/// Memory in KiB from `<memory unit=...>`.
fn kib(n: &Node) -> Result<u64> {
    let v: u64 =
        n.text.trim().parse().map_err(|_| {
            Error::xml(format!("invalid value '{}' in <{}>", n.text.trim(), n.name))
        })?;
    let mul = match n.attr("unit").unwrap_or("KiB") {
        "b" | "bytes" => return Ok(v / 1024),
        "k" | "KiB" => 1,
        "KB" => return Ok(v * 1000 / 1024),
        "M" | "MiB" => 1024,
        "G" | "GiB" => 1024 * 1024,
        "T" | "TiB" => 1024 * 1024 * 1024,
        u => return Err(Error::xml(format!("unknown memory unit '{u}'"))),
    };
    Ok(v * mul)
}

/// Read the fields the driver needs from domain XML.
fn from_xml(xml: &str) -> Result<TestDomain> {
    let root = parse_tree(xml)?;
    if root.name != "domain" {
        return Err(Error::xml(format!(
            "unexpected root element <{}>, expecting <domain>",
            root.name
        )));
    }
    let name = child(&root, "name")
        .map(|n| n.text.trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::xml("missing name information"))?;
    let uuid = match child(&root, "uuid") {
        Some(u) => Uuid::parse_str(u.text.trim())
            .map_err(|_| Error::xml(format!("malformed uuid element '{}'", u.text.trim())))?,
        None => Uuid::new_v4(),
    };
    let max_mem_kib = child(&root, "memory").map(kib).transpose()?.unwrap_or(0);
    let memory_kib = child(&root, "currentMemory")
        .map(kib)
        .transpose()?
        .unwrap_or(max_mem_kib);
    let vcpus = match child(&root, "vcpu") {
        Some(v) => v
            .text
            .trim()
            .parse()
            .map_err(|_| Error::xml(format!("invalid vcpu count '{}'", v.text.trim())))?,
        None => 1,
    };
    Ok(TestDomain {
        name,
        uuid,
        xml: xml.to_string(),
        id: None,
        state: DomainState::Shutoff,
        reason: StateReason::Unknown,
        persistent: false,
        max_mem_kib,
        memory_kib,
        vcpus,
    })
}

fn no_domain(key: &DomainKey) -> Error {
    let what = match key {
        DomainKey::Name(n) => format!("no domain with matching name '{n}'"),
        DomainKey::Uuid(u) => format!("no domain with matching uuid '{u}'"),
        DomainKey::Id(i) => format!("no domain with matching id {i}"),
    };
    Error::new(
        ErrorCode::NoDomain,
        ErrorDomain::Dom,
        format!("Domain not found: {what}"),
    )
}

fn invalid(msg: &str) -> Error {
    Error::new(
        ErrorCode::OperationInvalid,
        ErrorDomain::Dom,
        format!("Requested operation is not valid: {msg}"),
    )
}

fn find(st: &State, key: &DomainKey) -> Result<usize> {
    st.domains
        .iter()
        .position(|d| match key {
            DomainKey::Name(n) => &d.name == n,
            DomainKey::Uuid(u) => &d.uuid == u,
            DomainKey::Id(i) => d.id == Some(*i),
        })
        .ok_or_else(|| no_domain(key))
}

/// Stop domain `i` with `reason`; a transient domain disappears.
fn stop(st: &mut State, i: usize, reason: StateReason) {
    if st.domains[i].persistent {
        let d = &mut st.domains[i];
        d.state = DomainState::Shutoff;
        d.reason = reason;
        d.id = None;
    } else {
        st.domains.remove(i);
    }
}

fn boot(st: &mut State, i: usize) {
    let id = st.next_id;
    st.next_id += 1;
    let d = &mut st.domains[i];
    d.id = Some(id);
    d.state = DomainState::Running;
    d.reason = StateReason::Booted;
}

/// A connection to `test:///default`.
pub struct TestConnection;

impl Connection for TestConnection {
    fn uri(&self) -> String {
        "test:///default".into()
    }
    fn hypervisor_type(&self) -> &'static str {
        HYPERVISOR_TYPE
    }
    fn hypervisor_version(&self) -> Result<u64> {
        // libvirt's test driver reports 0.0.2.
        Ok(2)
    }
    fn list(&self, filter: ListFilter) -> Result<Vec<DomainSummary>> {
        let st = state();
        let mut active: Vec<&TestDomain> = st
            .domains
            .iter()
            .filter(|d| filter.active && d.active())
            .collect();
        active.sort_by_key(|d| d.id);
        let mut inactive: Vec<&TestDomain> = st
            .domains
            .iter()
            .filter(|d| filter.inactive && !d.active())
            .collect();
        inactive.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(active
            .into_iter()
            .chain(inactive)
            .map(TestDomain::summary)
            .collect())
    }
    fn lookup(&self, key: &DomainKey) -> Result<DomainSummary> {
        let st = state();
        Ok(st.domains[find(&st, key)?].summary())
    }
    fn define_xml(&self, xml: &str) -> Result<DomainSummary> {
        let mut new = from_xml(xml)?;
        let mut st = state();
        if let Some(d) = st.domains.iter_mut().find(|d| d.name == new.name) {
            if d.uuid != new.uuid {
                return Err(Error::new(
                    ErrorCode::OperationFailed,
                    ErrorDomain::Dom,
                    format!(
                        "operation failed: domain '{}' already exists with uuid {}",
                        d.name, d.uuid
                    ),
                ));
            }
            new.id = d.id;
            new.state = d.state;
            new.reason = d.reason;
            new.persistent = true;
            *d = new;
            return Ok(d.summary());
        }
        if let Some(d) = st.domains.iter().find(|d| d.uuid == new.uuid) {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                ErrorDomain::Dom,
                format!(
                    "operation failed: domain '{}' is already defined with uuid {}",
                    d.name, d.uuid
                ),
            ));
        }
        new.persistent = true;
        let s = new.summary();
        st.domains.push(new);
        Ok(s)
    }
    fn undefine(&self, key: &DomainKey) -> Result<()> {
        let mut st = state();
        let i = find(&st, key)?;
        if !st.domains[i].persistent {
            return Err(invalid("cannot undefine transient domain"));
        }
        if st.domains[i].active() {
            st.domains[i].persistent = false;
        } else {
            st.domains.remove(i);
        }
        Ok(())
    }
    fn create_xml(&self, xml: &str) -> Result<DomainSummary> {
        let new = from_xml(xml)?;
        let mut st = state();
        let i = match st.domains.iter().position(|d| d.name == new.name) {
            Some(i) if st.domains[i].active() => {
                return Err(invalid(&format!("domain '{}' is already active", new.name)))
            }
            Some(i) => i,
            None => {
                st.domains.push(new);
                st.domains.len() - 1
            }
        };
        boot(&mut st, i);
        Ok(st.domains[i].summary())
    }
    fn start(&self, key: &DomainKey) -> Result<DomainSummary> {
        let mut st = state();
        let i = find(&st, key)?;
        if st.domains[i].active() {
            return Err(invalid("domain is already running"));
        }
        boot(&mut st, i);
        Ok(st.domains[i].summary())
    }
    fn shutdown(&self, key: &DomainKey) -> Result<()> {
        let mut st = state();
        let i = find(&st, key)?;
        if st.domains[i].state != DomainState::Running {
            return Err(invalid("domain is not running"));
        }
        stop(&mut st, i, StateReason::Shutdown);
        Ok(())
    }
    fn destroy(&self, key: &DomainKey) -> Result<()> {
        let mut st = state();
        let i = find(&st, key)?;
        if !st.domains[i].active() {
            return Err(invalid("domain is not running"));
        }
        stop(&mut st, i, StateReason::Destroyed);
        Ok(())
    }
    fn suspend(&self, key: &DomainKey) -> Result<()> {
        let mut st = state();
        let i = find(&st, key)?;
        let d = &mut st.domains[i];
        if d.state != DomainState::Running {
            return Err(invalid("domain is not running"));
        }
        d.state = DomainState::Paused;
        d.reason = StateReason::User;
        Ok(())
    }
    fn resume(&self, key: &DomainKey) -> Result<()> {
        let mut st = state();
        let i = find(&st, key)?;
        let d = &mut st.domains[i];
        if d.state != DomainState::Paused {
            return Err(invalid("domain is not paused"));
        }
        d.state = DomainState::Running;
        d.reason = StateReason::Unpaused;
        Ok(())
    }
    fn info(&self, key: &DomainKey) -> Result<DomainInfo> {
        let st = state();
        let d = &st.domains[find(&st, key)?];
        Ok(DomainInfo {
            summary: d.summary(),
            os_type: "linux".into(),
            max_mem_kib: d.max_mem_kib,
            memory_kib: d.memory_kib,
            vcpus: d.vcpus,
            cpu_time_ns: 0,
            autostart: false,
            security: vec![SecurityInfo {
                model: "testSecurity".into(),
                doi: String::new(),
                // `dominfo` adds " (enforcing)".
                label: Some("libvirt-test".into()),
            }],
        })
    }
    fn xml(&self, key: &DomainKey, flags: XmlFlags) -> Result<String> {
        let st = state();
        let d = &st.domains[find(&st, key)?];
        Ok(match d.id {
            Some(id) if !flags.inactive => with_id(&d.xml, id),
            _ => d.xml.clone(),
        })
    }
}

/// `xml` with `id='ID'` added to the root element's attributes.
fn with_id(xml: &str, id: u32) -> String {
    match xml.find("<domain") {
        Some(start) => {
            let rest = &xml[start..];
            let end = rest.find('>').map(|e| start + e).unwrap_or(xml.len());
            let (head, tail) = xml.split_at(end);
            let head = head.strip_suffix('/').unwrap_or(head);
            let slash = if xml[..end].ends_with('/') { "/" } else { "" };
            format!("{head} id='{id}'{slash}{tail}")
        }
        None => xml.to_string(),
    }
}

/// Open `uri` if it is `test:///default`.
pub fn open(uri: &ConnectUri) -> Result<Option<Box<dyn Connection>>> {
    if uri.driver != "test" || uri.transport.is_some() || uri.host.is_some() {
        return Ok(None);
    }
    if uri.path != "default" {
        return Err(Error::new(
            ErrorCode::NoSupport,
            ErrorDomain::None,
            format!(
                "test driver: only test:///default is supported, not '{}' (custom configuration files are not implemented)",
                uri.original
            ),
        ));
    }
    Ok(Some(Box::new(TestConnection)))
}

oxvirt_core::inventory::submit! {
    DriverRegistration { name: "Test", open }
}

#[cfg(test)]
mod tests;
