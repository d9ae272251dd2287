//! `liboxvirt_driver_test_plugin.so`: the in-memory test driver (`oxvirt-driver-test`)
//! exported as an oxvirt hypervisor driver plugin. Drop it in `plugin_dir` (for the CLI:
//! `$OXVIRT_PLUGIN_DIR`, else `/usr/lib/oxvirt/plugins`) and `test:///default` works
//! without the driver being linked into the program.

use oxvirt_plugin_abi::abi_stable::export_root_module;
use oxvirt_plugin_abi::abi_stable::prefix_type::PrefixTypeTrait;
use oxvirt_plugin_abi::{guest, PluginModRef};

/// The root module abi_stable's loader asks for.
#[export_root_module]
pub fn root_module() -> PluginModRef {
    guest::driver_module("Test", oxvirt_driver_test::open).leak_into_prefix()
}
