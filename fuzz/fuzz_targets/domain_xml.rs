//! Fuzz the domain XML parser: it must never panic, and whatever it accepts must
//! survive a format/parse round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxvirt_core::domain::{format_domain_xml, parse_domain_xml, FormatOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(dom) = parse_domain_xml(text) {
        let opts = FormatOptions {
            live: dom.id.is_some(),
        };
        let xml = format_domain_xml(&dom, opts);
        let again = parse_domain_xml(&xml).expect("formatted XML must parse");
        assert_eq!(dom, again, "round trip changed the domain:\n{xml}");
    }
});
