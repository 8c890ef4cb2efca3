//! Feeds arbitrary datagrams to the reply decoder, as the reply to a request
//! chosen by the first input bytes. It must never panic, and whatever it
//! returns must be one of the outcomes CMDMON.md allows.
#![no_main]

use chrony_core::protocol::reply::{decode, parse_header, Reply};
use chrony_core::protocol::request::Request;
use chrony_core::Error;
use libfuzzer_sys::fuzz_target;

fn request(selector: u8, index: u32) -> Request {
    match selector % 5 {
        0 => Request::Tracking,
        1 => Request::NSources,
        2 => Request::SourceData(index),
        3 => Request::SourceStats(index),
        _ => Request::RtcReport,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, reply)) = data.split_first() else {
        return;
    };
    let req = request(selector, u32::from(selector));
    let header = parse_header(reply);
    match decode(req, reply) {
        Ok(r) => {
            let h = header.expect("a decoded reply has a header");
            assert_eq!(h.version, 6);
            assert_eq!(h.status, 0);
            assert_eq!(h.reply, req.reply_code());
            assert!(reply.len() >= 28 + req.reply_body_len());
            let variant_ok = matches!(
                (req, &r),
                (Request::Tracking, Reply::Tracking(_))
                    | (Request::NSources, Reply::NSources(_))
                    | (Request::SourceData(_), Reply::SourceData(_))
                    | (Request::SourceStats(_), Reply::SourceStats(_))
                    | (Request::RtcReport, Reply::Rtc(_))
            );
            assert!(variant_ok, "{req:?} decoded as {r:?}");
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
});
