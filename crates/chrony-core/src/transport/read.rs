//! Reading a report with the native engine: one request (for one record, or
//! a list in one reply), the number of sources and then every index (or
//! every NTP source's address), pipelined, or page after page.
//!
//! The list reads hand each record to a sink as its reply arrives, with its
//! index (see [`Sink`]), so that what the caller does with it overlaps with
//! chronyd answering the next requests.

use super::{Policy, Transport};
use crate::error::{DataFailure, Error, Result};
use crate::protocol::reply::{check, decode_count, is_no_such_source};
use crate::protocol::request::Request;
use crate::reports::{source_count, Args, Record, Shape, Source, SOURCE_LIST_ATTEMPTS};
use crate::IpAddr;

/// Where a list read puts each record: `(index, record)`, indexes from 0 in
/// order. A read that starts again (the list of sources changed under it)
/// begins at index 0 again: a sink drops what it had from that index on.
pub(crate) type Sink<'a, R> = &'a mut dyn FnMut(usize, R) -> Result<()>;

/// The one record of `R`.
pub(crate) fn one<R: Record>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    args: &Args,
) -> Result<R> {
    let req = R::request(0, args);
    transport.exchange_one(req, policy, interrupt, |buf| {
        let (reply, body) = check(&req, buf)?;
        R::decode(reply, &body)
    })
}

/// The records of the report `R` whose one reply holds a list.
pub(crate) fn in_reply<R: Record>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    args: &Args,
) -> Result<Vec<R>> {
    let req = R::request(0, args);
    transport.exchange_one(req, policy, interrupt, |buf| {
        let (reply, body) = check(&req, buf)?;
        R::decode_records(reply, &body)
    })
}

/// The records of the list report `R`, read as its shape says.
pub(crate) fn list<R: Record>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    args: &Args,
) -> Result<Vec<R>> {
    let mut out = Vec::new();
    list_each::<R>(transport, policy, interrupt, args, &mut |index, record| {
        out.truncate(index);
        out.push(record);
        Ok(())
    })?;
    Ok(out)
}

/// The records of the list report `R`, read as its shape says, each handed
/// to `sink` as it arrives.
pub(crate) fn list_each<R: Record>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    args: &Args,
    sink: Sink<'_, R>,
) -> Result<()> {
    let feed = |records: Vec<R>, sink: Sink<'_, R>| {
        records
            .into_iter()
            .enumerate()
            .try_for_each(|(i, r)| sink(i, r))
    };
    match R::SPEC.shape {
        Shape::PerAddress { unresolved } => match args.address_given() {
            Some(address) => sink(
                0,
                one::<R>(transport, policy, interrupt, args)?.at_address(address),
            ),
            None => per_address::<R>(transport, policy, interrupt, unresolved, sink),
        },
        Shape::Paged => feed(paged::<R>(transport, policy, interrupt, args)?, sink),
        Shape::InReply => feed(in_reply::<R>(transport, policy, interrupt, args)?, sink),
        Shape::PerSource | Shape::Single | Shape::Optional | Shape::Text => {
            per_source::<R>(transport, policy, interrupt, args, sink)
        }
    }
}

/// Sends `reqs` (pipelined) and hands each reply, decoded as `R`, to `sink`.
fn exchange_each<R: Record>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    reqs: &[Request],
    sink: Sink<'_, R>,
) -> Result<()> {
    transport.exchange(reqs, policy, interrupt, &mut |index, buf| {
        let (reply, body) = check(&reqs[index], buf)?;
        sink(index, R::decode(reply, &body)?)
    })
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
        let count =
            transport.exchange_one(Request::n_sources(), policy, interrupt, decode_count)?;
        let n = source_count(count)?;
        match read(transport, n) {
            Err(e) if is_no_such_source(&e) && attempt < SOURCE_LIST_ATTEMPTS => {}
            other => return other,
        }
    }
}

/// Every record of the per-source report `R`.
fn per_source<R: Record>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    args: &Args,
    sink: Sink<'_, R>,
) -> Result<()> {
    from_count(transport, policy, interrupt, |t, n| {
        let reqs: Vec<Request> = (0..n).map(|i| R::request(i, args)).collect();
        exchange_each::<R>(t, policy, interrupt, &reqs, sink)
    })
}

/// The record of every NTP source of the per-address report `R`: the
/// sources (pipelined), then `R` for each NTP source's address (pipelined).
fn per_address<R: Record>(
    transport: &mut Transport,
    policy: &Policy,
    interrupt: &dyn Fn() -> bool,
    unresolved: bool,
    sink: Sink<'_, R>,
) -> Result<()> {
    from_count(transport, policy, interrupt, |t, n| {
        let reqs: Vec<Request> = (0..n).map(|i| Source::request(i, &Args::NONE)).collect();
        let mut addresses: Vec<IpAddr> = Vec::new();
        exchange_each::<Source>(t, policy, interrupt, &reqs, &mut |_, source| {
            if source.listed_by_address(unresolved) {
                addresses.push(source.address);
            }
            Ok(())
        })?;
        let reqs: Vec<Request> = addresses
            .iter()
            .map(|a| R::request(0, &Args::with_address(*a)).listed())
            .collect();
        exchange_each::<R>(t, policy, interrupt, &reqs, &mut |index, record| {
            sink(index, record.at_address(addresses[index]))
        })
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
        let next = transport.exchange_one(req, policy, interrupt, |buf| {
            let (reply, body) = check(&req, buf)?;
            out.extend(R::decode_records(reply, &body)?);
            R::next_page(reply, &body)
        })?;
        match next {
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
