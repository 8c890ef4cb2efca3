//! Feeds arbitrary text to `Endpoint::parse`: it must never panic, and an
//! accepted address must be consistent with the text.
#![no_main]

use chrony_core::{Endpoint, Error};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match Endpoint::parse(text) {
        Ok(Endpoint::Unix(p)) => {
            assert!(text.starts_with('/') && text.len() <= 107 && !text.contains('\0'));
            assert_eq!(p.to_str(), Some(text));
        }
        Ok(Endpoint::Udp(a)) => assert_ne!(a.port(), 0),
        Ok(Endpoint::Host { host, port }) => {
            assert_ne!(port, 0);
            assert!(!host.is_empty() && !host.contains(':') && text.starts_with(&host));
        }
        Err(e) => {
            assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
            assert_eq!(e.error_code(), Some(7));
        }
    }
});
