//! `-no-reboot` → `<on_reboot>destroy</on_reboot>`.

use super::state::State;
use oxvirt_core::domain::LifecycleAction;
use oxvirt_core::Result;

/// `-no-reboot`.
pub(crate) fn no_reboot(st: &mut State, _: &str, _: &str) -> Result<bool> {
    st.dom.on_reboot = Some(LifecycleAction::Destroy);
    Ok(true)
}
