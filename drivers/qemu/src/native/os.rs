//! Boot: `-boot c|d|a|n...` / `-boot order=..,menu=on` → `<boot dev>` list and
//! `<bootmenu>`; `-kernel`, `-initrd`, `-append`. Without `-boot` and `-kernel` the
//! domain boots from `hd`.

use super::state::State;
use super::value::{get, kv};
use oxvirt_core::domain::BootDev;
use oxvirt_core::Result;

/// `-boot`.
pub(crate) fn boot(st: &mut State, _: &str, v: &str) -> Result<bool> {
    let kvs = kv(v);
    if let Some(order) = get(&kvs, "order").or_else(|| get(&kvs, "")) {
        for c in order.chars() {
            st.dom.os.boot.push(match c {
                'a' | 'b' => BootDev::Fd,
                'c' => BootDev::Hd,
                'd' => BootDev::Cdrom,
                'n' => BootDev::Network,
                _ => continue,
            });
        }
    }
    if let Some(m) = get(&kvs, "menu") {
        st.dom.os.bootmenu = Some(m == "on");
    }
    Ok(true)
}

/// `-kernel`.
pub(crate) fn kernel(st: &mut State, _: &str, v: &str) -> Result<bool> {
    st.dom.os.kernel = Some(v.to_string());
    Ok(true)
}

/// `-initrd`.
pub(crate) fn initrd(st: &mut State, _: &str, v: &str) -> Result<bool> {
    st.dom.os.initrd = Some(v.to_string());
    Ok(true)
}

/// `-append`.
pub(crate) fn append(st: &mut State, _: &str, v: &str) -> Result<bool> {
    st.dom.os.cmdline = Some(v.to_string());
    Ok(true)
}

/// The default boot device.
pub(crate) fn finish(st: &mut State) {
    if st.dom.os.boot.is_empty() && st.dom.os.kernel.is_none() {
        st.dom.os.boot.push(BootDev::Hd);
    }
}
