//! Fuzz the RPC decoder as oxvirtd runs it on client bytes: the length word, the header
//! and the argument structs of every kind. It must never panic or over-allocate.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    oxvirt_driver_remote::server::fuzz_decode(data);
});
