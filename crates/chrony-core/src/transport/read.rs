//! Reading a report with the native engine: one request (for one record, or
//! a list in one reply), or the number of sources and then every index,
//! pipelined.

use super::{Policy, Transport};
use crate::error::Result;
use crate::protocol::reply::{check, decode_count, is_no_such_source};
use crate::protocol::request::Request;
use crate::reports::{source_count, Args, Record, SOURCE_LIST_ATTEMPTS};

/// The one record of `R`.
pub(crate) fn one<R: Record>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    args: &Args,
) -> Result<R> {
    let req = R::request(0, args);
    let raw = transport.exchange(&[req], policy, interrupt)?;
    let (reply, body) = check(&req, &raw[0])?;
    R::decode(reply, &body)
}

/// The records of the report `R` whose one reply holds a list.
pub(crate) fn in_reply<R: Record>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    args: &Args,
) -> Result<Vec<R>> {
    let req = R::request(0, args);
    let raw = transport.exchange(&[req], policy, interrupt)?;
    let (reply, body) = check(&req, &raw[0])?;
    R::decode_records(reply, &body)
}

/// Every record of the per-source report `R`. When a record is gone (the
/// list changed), starts again from a fresh count, a bounded number of times.
pub(crate) fn per_source<R: Record>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    args: &Args,
) -> Result<Vec<R>> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let raw = transport.exchange(&[Request::n_sources()], policy, interrupt)?;
        let n = source_count(decode_count(&raw[0])?)?;
        let reqs: Vec<Request> = (0..n).map(|i| R::request(i, args)).collect();
        let raw = transport.exchange(&reqs, policy, interrupt)?;
        let decoded: Result<Vec<R>> = reqs
            .iter()
            .zip(&raw)
            .map(|(req, buf)| {
                let (reply, body) = check(req, buf)?;
                R::decode(reply, &body)
            })
            .collect();
        match decoded {
            Err(e) if is_no_such_source(&e) && attempt < SOURCE_LIST_ATTEMPTS => {}
            other => return other,
        }
    }
}
