//! JSON mirrors of core's driver types (which are not serde types), as they cross the
//! driver table. States and reasons travel as libvirt's state number and oxvirt's
//! one-word reason spelling.

use oxvirt_core::driver::{
    DomainInfo, DomainKey, DomainState, DomainSummary, SecurityInfo, StateReason,
};
use oxvirt_core::security::SecModel;
use oxvirt_core::{Error, Result};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How a domain is named (`DomainKey`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireKey {
    Name(String),
    Uuid(Uuid),
    Id(u32),
}

impl From<&DomainKey> for WireKey {
    fn from(k: &DomainKey) -> Self {
        match k {
            DomainKey::Name(n) => WireKey::Name(n.clone()),
            DomainKey::Uuid(u) => WireKey::Uuid(*u),
            DomainKey::Id(i) => WireKey::Id(*i),
        }
    }
}

impl From<WireKey> for DomainKey {
    fn from(k: WireKey) -> Self {
        match k {
            WireKey::Name(n) => DomainKey::Name(n),
            WireKey::Uuid(u) => DomainKey::Uuid(u),
            WireKey::Id(i) => DomainKey::Id(i),
        }
    }
}

/// `DomainSummary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireSummary {
    pub name: String,
    pub uuid: Uuid,
    pub id: Option<u32>,
    /// libvirt's `virDomainState` number.
    pub state: i32,
    /// `StateReason::as_status_str`.
    pub reason: String,
    pub persistent: bool,
}

fn state_from_number(n: i32) -> DomainState {
    use DomainState::*;
    [
        NoState,
        Running,
        Blocked,
        Paused,
        Shutdown,
        Shutoff,
        Crashed,
        PmSuspended,
    ]
    .into_iter()
    .find(|s| *s as i32 == n)
    .unwrap_or(NoState)
}

impl From<&DomainSummary> for WireSummary {
    fn from(s: &DomainSummary) -> Self {
        WireSummary {
            name: s.name.clone(),
            uuid: s.uuid,
            id: s.id,
            state: s.state as i32,
            reason: s.reason.as_status_str().to_string(),
            persistent: s.persistent,
        }
    }
}

impl From<WireSummary> for DomainSummary {
    fn from(s: WireSummary) -> Self {
        DomainSummary {
            name: s.name,
            uuid: s.uuid,
            id: s.id,
            state: state_from_number(s.state),
            reason: StateReason::from_status_str(&s.reason),
            persistent: s.persistent,
        }
    }
}

/// `DomainInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireInfo {
    pub summary: WireSummary,
    pub os_type: String,
    pub max_mem_kib: u64,
    pub memory_kib: u64,
    pub vcpus: u32,
    pub cpu_time_ns: u64,
    pub autostart: bool,
    /// `(model, doi, label)` per backend.
    pub security: Vec<(String, String, Option<String>)>,
}

impl From<&DomainInfo> for WireInfo {
    fn from(i: &DomainInfo) -> Self {
        WireInfo {
            summary: (&i.summary).into(),
            os_type: i.os_type.clone(),
            max_mem_kib: i.max_mem_kib,
            memory_kib: i.memory_kib,
            vcpus: i.vcpus,
            cpu_time_ns: i.cpu_time_ns,
            autostart: i.autostart,
            security: i
                .security
                .iter()
                .map(|s| (s.model.clone(), s.doi.clone(), s.label.clone()))
                .collect(),
        }
    }
}

impl From<WireInfo> for DomainInfo {
    fn from(i: WireInfo) -> Self {
        DomainInfo {
            summary: i.summary.into(),
            os_type: i.os_type,
            max_mem_kib: i.max_mem_kib,
            memory_kib: i.memory_kib,
            vcpus: i.vcpus,
            cpu_time_ns: i.cpu_time_ns,
            autostart: i.autostart,
            security: i
                .security
                .into_iter()
                .map(|(model, doi, label)| SecurityInfo { model, doi, label })
                .collect(),
        }
    }
}

/// `SecModel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireSecModel {
    pub model: String,
    pub doi: String,
    pub baselabels: Vec<(String, String)>,
}

impl From<SecModel> for WireSecModel {
    fn from(m: SecModel) -> Self {
        WireSecModel {
            model: m.model,
            doi: m.doi,
            baselabels: m.baselabels,
        }
    }
}

impl From<WireSecModel> for SecModel {
    fn from(m: WireSecModel) -> Self {
        SecModel {
            model: m.model,
            doi: m.doi,
            baselabels: m.baselabels,
        }
    }
}

/// Serialize `v` to JSON (core types never fail to serialize; an error is internal).
pub fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::internal(format!("plugin ABI: cannot encode: {e}")))
}

/// Parse JSON received across the boundary; `what` names it in the error.
pub fn from_json<T: for<'de> Deserialize<'de>>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| {
        Error::internal(format!(
            "plugin ABI: malformed {what} from the other side: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_round_trips() {
        let s = DomainSummary {
            name: "test".into(),
            uuid: Uuid::nil(),
            id: Some(1),
            state: DomainState::Paused,
            reason: StateReason::User,
            persistent: true,
        };
        let w: WireSummary = from_json("s", &to_json(&WireSummary::from(&s)).unwrap()).unwrap();
        assert_eq!(DomainSummary::from(w), s);
        let k = DomainKey::Id(3);
        let w: WireKey = from_json("k", &to_json(&WireKey::from(&k)).unwrap()).unwrap();
        assert_eq!(DomainKey::from(w), k);
    }
}
