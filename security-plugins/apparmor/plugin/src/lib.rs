//! `liboxvirt_security_apparmor_plugin.so`: the AppArmor backend
//! (`oxvirt-security-apparmor`) as a plugin for `plugin_dir`, for programs that do not
//! link it in. Its own crate so that the binaries linking the backend built in export
//! no plugin root module.

use oxvirt_plugin_abi::abi_stable::export_root_module;
use oxvirt_plugin_abi::abi_stable::prefix_type::PrefixTypeTrait;
use oxvirt_plugin_abi::{guest, PluginModRef};

/// The root module abi_stable's loader asks for.
#[export_root_module]
pub fn root_module() -> PluginModRef {
    guest::security_module("apparmor", oxvirt_security_apparmor::create_backend).leak_into_prefix()
}
