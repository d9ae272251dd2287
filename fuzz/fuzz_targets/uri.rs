//! Fuzz connection URI parsing: it must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxvirt_core::uri::ConnectUri;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ConnectUri::parse(text);
    }
});
