//! Networking: `-net nic[,model=,macaddr=]` (with `-net user`) and `-netdev user,..` →
//! `<interface type='user'>`; `-net none` → nothing; tap, bridge, socket and `-nic`
//! are kept.

use super::state::State;
use super::value::{get, kv};
use oxvirt_core::domain::{Interface, InterfaceType};
use oxvirt_core::Result;

/// `-net`.
pub(crate) fn net(st: &mut State, _: &str, v: &str) -> Result<bool> {
    let kvs = kv(v);
    match get(&kvs, "") {
        Some("none") => {}
        Some("nic") => st.nics.push((
            get(&kvs, "model").map(str::to_string),
            get(&kvs, "macaddr").map(str::to_string),
        )),
        Some("user") => st.user_net = true,
        _ => return Ok(false),
    }
    Ok(true)
}

/// `-netdev`.
pub(crate) fn netdev(st: &mut State, _: &str, v: &str) -> Result<bool> {
    let kvs = kv(v);
    match get(&kvs, "").or_else(|| get(&kvs, "type")) {
        Some("user") => st.user_net = true,
        _ => return Ok(false),
    }
    Ok(true)
}

fn user(mac: Option<String>, model: Option<String>) -> Interface {
    Interface {
        iface_type: InterfaceType::User,
        mac,
        model,
        boot_order: None,
        address: None,
    }
}

/// One interface per NIC, or one for user networking without a NIC.
pub(crate) fn finish(st: &mut State) {
    let interfaces = &mut st.dom.devices.interfaces;
    for (model, mac) in std::mem::take(&mut st.nics) {
        interfaces.push(user(mac, model));
    }
    if st.user_net && interfaces.is_empty() {
        interfaces.push(user(None, None));
    }
}
