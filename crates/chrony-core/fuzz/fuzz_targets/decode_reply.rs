//! Feeds arbitrary datagrams to the reply decoders, as the reply to a
//! request of a report chosen by the first input byte (every registered
//! report, and the count of sources). It must never panic, and whatever it
//! returns must be one of the outcomes CMDMON.md allows.
#![no_main]

use chrony_core::protocol::reply::{decode_count, parse_header};
use chrony_core::protocol::request::Request;
use chrony_core::reports::{decode, Record};
use chrony_core::Error;
use libfuzzer_sys::fuzz_target;

/// Checks one decoding against what the request allows.
fn checked<T: std::fmt::Debug>(req: &Request, reply: &[u8], result: Result<T, Error>) {
    let header = parse_header(reply);
    match result {
        Ok(_) => {
            let h = header.expect("a decoded reply has a header");
            assert_eq!(h.version, 6);
            assert_eq!(h.status, 0);
            let layout = req.layout(h.reply).expect("a reply code the request accepts");
            assert!(reply.len() >= 28 + layout.len);
        }
        Err(e) => {
            assert!(
                matches!(
                    e,
                    Error::Data { .. } | Error::NotAvailable { .. } | Error::Unauthorized { .. }
                ),
                "{e:?}"
            );
            assert!(!e.to_string().is_empty());
            if header.is_none() {
                assert_eq!(e.error_code(), Some(14), "{e:?}");
            }
        }
    }
}

fn one<R: Record + std::fmt::Debug>(index: u32, reply: &[u8]) {
    checked(&R::request(index, &chrony_core::reports::Args::NONE), reply, decode::<R>(index, reply));
}

macro_rules! pick {
    ($($report:ty),+) => {
        &[$(one::<$report> as fn(u32, &[u8])),+]
    };
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, reply)) = data.split_first() else {
        return;
    };
    let reports: &[fn(u32, &[u8])] = chrony_core::for_each_report!(pick);
    let index = u32::from(selector);
    match usize::from(selector) % (reports.len() + 1) {
        0 => checked(&Request::n_sources(), reply, decode_count(reply)),
        n => reports[n - 1](index, reply),
    }
});
