//! Reading a report with the native engine: one request (for one record, or
//! a list in one reply), the number of sources and then every index (or
//! every NTP source's address), pipelined, or page after page.

use super::{Policy, Transport};
use crate::error::{DataFailure, Error, Result};
use crate::protocol::reply::{check, decode_count, is_no_such_source};
use crate::protocol::request::Request;
use crate::reports::{source_count, Args, Record, Shape, Source, SOURCE_LIST_ATTEMPTS};
use crate::IpAddr;

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

/// The records of the list report `R`, read as its shape says.
pub(crate) fn list<R: Record>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    args: &Args,
) -> Result<Vec<R>> {
    match R::SPEC.shape {
        Shape::PerAddress { unresolved } => match args.address_given() {
            Some(address) => Ok(vec![
                one::<R>(transport, policy, interrupt, args)?.at_address(address)
            ]),
            None => per_address::<R>(transport, policy, interrupt, unresolved),
        },
        Shape::Paged => paged::<R>(transport, policy, interrupt, args),
        Shape::InReply => in_reply::<R>(transport, policy, interrupt, args),
        Shape::PerSource | Shape::Single | Shape::Optional | Shape::Text => {
            per_source::<R>(transport, policy, interrupt, args)
        }
    }
}

/// Sends `reqs` (pipelined) and decodes each reply as `R`.
fn exchange_all<R: Record>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    reqs: &[Request],
) -> Result<Vec<R>> {
    let raw = transport.exchange(reqs, policy, interrupt)?;
    reqs.iter()
        .zip(&raw)
        .map(|(req, buf)| {
            let (reply, body) = check(req, buf)?;
            R::decode(reply, &body)
        })
        .collect()
}

/// Runs `read` from a fresh count of sources; when a record is gone (the
/// list changed), starts again, a bounded number of times.
fn from_count<T>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    mut read: impl FnMut(&mut Transport, u32) -> Result<T>,
) -> Result<T> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let raw = transport.exchange(&[Request::n_sources()], policy, interrupt)?;
        let n = source_count(decode_count(&raw[0])?)?;
        match read(transport, n) {
            Err(e) if is_no_such_source(&e) && attempt < SOURCE_LIST_ATTEMPTS => {}
            other => return other,
        }
    }
}

/// Every record of the per-source report `R`.
pub(crate) fn per_source<R: Record>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    args: &Args,
) -> Result<Vec<R>> {
    from_count(transport, policy, interrupt, |t, n| {
        let reqs: Vec<Request> = (0..n).map(|i| R::request(i, args)).collect();
        exchange_all::<R>(t, policy, interrupt, &reqs)
    })
}

/// The record of every NTP source of the per-address report `R`: the
/// sources (pipelined), then `R` for each NTP source's address (pipelined).
fn per_address<R: Record>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    unresolved: bool,
) -> Result<Vec<R>> {
    from_count(transport, policy, interrupt, |t, n| {
        let reqs: Vec<Request> = (0..n).map(|i| Source::request(i, &Args::NONE)).collect();
        let sources = exchange_all::<Source>(t, policy, interrupt, &reqs)?;
        let addresses: Vec<IpAddr> = sources
            .iter()
            .filter(|s| s.listed_by_address(unresolved))
            .map(|s| s.address)
            .collect();
        let reqs: Vec<Request> = addresses
            .iter()
            .map(|a| R::request(0, &Args::with_address(*a)).listed())
            .collect();
        let records = exchange_all::<R>(t, policy, interrupt, &reqs)?;
        Ok(records
            .into_iter()
            .zip(addresses)
            .map(|(r, a)| r.at_address(a))
            .collect())
    })
}

/// Every page of the paged report `R`, from index 0 until
/// [`Record::next_page`] says the last one came. Each page depends on the
/// one before, so pages go one at a time.
fn paged<R: Record>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    args: &Args,
) -> Result<Vec<R>> {
    let mut out = Vec::new();
    let mut index = 0;
    loop {
        let req = R::request(index, args);
        let raw = transport.exchange(&[req], policy, interrupt)?;
        let (reply, body) = check(&req, &raw[0])?;
        out.extend(R::decode_records(reply, &body)?);
        match R::next_page(reply, &body)? {
            None => return Ok(out),
            Some(next) if next > index => index = next,
            Some(next) => {
                return Err(Error::data(
                    DataFailure::InvalidValue,
                    format!(
                        "chronyd sent an invalid {} page: the page at index {index} says the \
                         next starts at {next}, which would not advance",
                        R::SPEC.name
                    ),
                ))
            }
        }
    }
}
