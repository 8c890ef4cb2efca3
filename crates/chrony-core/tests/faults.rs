//! Fault injection against a fake chronyd (tests/common): every case checks
//! the exact error kind and code, that the call ended within
//! `timeout × (2^(retries+1) − 1)` plus a little slack, and that the same
//! `Client` works again once the fake answers properly.

// Report floats decode exactly from the words the fake encodes, so the
// reports are compared whole, floats included.
#![allow(clippy::float_cmp)]

mod common;

use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrony_core::reports::{Args, Record};
use chrony_core::{Client, ClientOptions, ConnectionFailure, DataFailure, Error, TransportKind};
use common::{
    cmd, rpy, rtc_body, sample_source, sample_stats, sample_tracking, serve, silent, tracking_body,
    wire, Daemon, Fake, Out, Seen, Via,
};

const TIMEOUT: Duration = Duration::from_millis(50);
const RETRIES: u32 = 2;
/// Scheduling noise allowed on top of the call budget.
const SLACK: Duration = Duration::from_millis(150);
/// Scheduling noise allowed below a resend interval, measured at the fake.
const EARLY: Duration = Duration::from_millis(10);
const VIAS: [Via; 2] = [Via::Unix, Via::Udp];

fn opts() -> ClientOptions {
    ClientOptions {
        timeout: TIMEOUT,
        retries: RETRIES,
    }
}

/// `timeout × (2^(retries+1) − 1)`: 350 ms here.
fn budget() -> Duration {
    TIMEOUT * ((1 << (RETRIES + 1)) - 1)
}

fn connect(fake: &Fake, via: Via) -> Client {
    let client = Client::connect(Some(&fake.address(via)), opts()).expect("connect to the fake");
    let kind = match via {
        Via::Unix => TransportKind::UnixSocket,
        Via::Udp => TransportKind::CommandPort,
    };
    assert_eq!(client.transport_kind(), kind);
    client
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn assert_in_bound(elapsed: Duration, what: &str) {
    assert!(
        elapsed <= budget() + SLACK,
        "{what}: took {elapsed:?}, bound {:?} + {SLACK:?}",
        budget()
    );
}

fn assert_timed_out(e: &Error) {
    assert!(
        matches!(
            e,
            Error::Connection {
                kind: ConnectionFailure::TimedOut,
                ..
            }
        ),
        "expected a timeout, got {e:?}"
    );
    assert!(e.is_timeout());
    assert_eq!(e.error_code(), Some(6), "{e:?}");
}

fn assert_data(e: &Error, kind: DataFailure, code: i32) {
    match e {
        Error::Data { kind: k, .. } => assert_eq!(*k, kind, "{e:?}"),
        other => panic!("expected a data error {kind:?}, got {other:?}"),
    }
    assert_eq!(e.error_code(), Some(code), "{e:?}");
}

/// Once the fake answers properly, the same client reads every report.
fn assert_recovers(fake: &Fake, client: &Client) {
    let d = Daemon::sample(3);
    fake.set_behaviour(serve(d.clone()));
    fake.clear();
    assert_eq!(
        client.tracking().expect("tracking after the fault"),
        d.tracking
    );
    assert_eq!(
        client.sources().expect("sources after the fault"),
        d.sources
    );
}

/// Runs TRACKING over `via` against a fake behaving as `bad`, checks the
/// bound and recovery, and hands the result and the requests to `check`.
fn tracking_case(
    via: Via,
    bad: impl FnMut(&Seen) -> Vec<Out> + Send + 'static,
    check: impl FnOnce(chrony_core::Result<chrony_core::Tracking>, Duration, &[Seen]),
) {
    let fake = Fake::start(bad);
    let client = connect(&fake, via);
    let (result, elapsed) = timed(|| client.tracking());
    assert_in_bound(elapsed, &format!("{via:?}: {result:?}"));
    check(result, elapsed, &fake.requests());
    assert_recovers(&fake, &client);
}

/// A fault that must be discarded: the call times out after exactly
/// retries + 1 requests.
fn discarded_case(via: Via, bad: impl FnMut(&Seen) -> Vec<Out> + Send + 'static) {
    tracking_case(via, bad, |r, elapsed, seen| {
        assert_timed_out(&r.expect_err("discarded reply must not be used"));
        assert!(
            elapsed + EARLY >= budget(),
            "{via:?}: gave up early, {elapsed:?}"
        );
        assert_eq!(seen.len(), RETRIES as usize + 1, "{via:?}: {seen:?}");
    });
}

fn tracking_reply(seen: &Seen, stratum: u16) -> Vec<u8> {
    seen.reply(rpy::TRACKING, 0, &tracking_body(&sample_tracking(stratum)))
}

#[test]
fn every_report_round_trips_over_both_transports() {
    for via in VIAS {
        let d = Daemon::sample(5);
        let fake = Fake::start(serve(d.clone()));
        let client = connect(&fake, via);
        assert_eq!(client.tracking().unwrap(), d.tracking);
        assert_eq!(client.sources().unwrap(), d.sources);
        assert_eq!(client.source_stats().unwrap(), d.stats);
        assert_eq!(client.rtc_data().unwrap(), d.rtc.clone().unwrap());
        let seen = fake.requests();
        // tracking, (count + 5) twice, rtc; all first attempts.
        assert_eq!(seen.len(), 1 + 6 + 6 + 1, "{via:?}");
        assert!(seen.iter().all(|s| s.via == via && s.attempt == 0));
        let lens: Vec<(u16, usize)> = seen.iter().map(|s| (s.command, s.bytes.len())).collect();
        assert!(lens.contains(&(cmd::TRACKING, 104)));
        assert!(lens.contains(&(cmd::N_SOURCES, 32)));
        assert!(lens.contains(&(cmd::SOURCE_DATA, 76)));
        assert!(lens.contains(&(cmd::SOURCESTATS, 84)));
        assert!(lens.contains(&(cmd::RTCREPORT, 56)));
        let indices: Vec<u32> = seen
            .iter()
            .filter(|s| s.command == cmd::SOURCE_DATA)
            .map(|s| s.index)
            .collect();
        let mut sorted = indices.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
    }
}

#[test]
fn silence_times_out_after_three_attempts_with_fresh_sequences() {
    for via in VIAS {
        tracking_case(via, silent(), |r, elapsed, seen| {
            let e = r.unwrap_err();
            assert_timed_out(&e);
            assert!(elapsed + EARLY >= budget(), "{via:?}: {elapsed:?}");
            assert_eq!(seen.len(), 3, "{via:?}: {seen:?}");
            let attempts: Vec<u16> = seen.iter().map(|s| s.attempt).collect();
            assert_eq!(attempts, vec![0, 1, 2]);
            assert!(seen.iter().all(|s| s.command == cmd::TRACKING));
            assert!(seen.iter().all(|s| s.bytes.len() == 104));
            assert_ne!(seen[0].sequence, seen[1].sequence);
            assert_ne!(seen[1].sequence, seen[2].sequence);
            assert_ne!(seen[0].sequence, seen[2].sequence);
            // Attempt n waits timeout × 2^n.
            for (n, pair) in seen.windows(2).enumerate() {
                let gap = pair[1].at.duration_since(pair[0].at);
                let want = TIMEOUT * (1 << n);
                assert!(
                    gap + EARLY >= want && gap <= want + SLACK,
                    "{via:?}: resend {} after {gap:?}, expected about {want:?}",
                    n + 1
                );
            }
            // The message says what was tried and where.
            assert!(e.to_string().contains("tracking"), "{e}");
        });
    }
}

#[test]
fn late_reply_to_the_previous_attempt_is_discarded() {
    for via in VIAS {
        let mut first_sequence = None;
        tracking_case(
            via,
            move |seen: &Seen| {
                if seen.attempt == 0 {
                    first_sequence = Some(seen.sequence);
                    return Vec::new();
                }
                // Once attempt 1 is out, the answer to attempt 0 arrives
                // (its sequence, stale: never used), then the real one.
                let stale = wire::reply(
                    cmd::TRACKING,
                    rpy::TRACKING,
                    0,
                    first_sequence.unwrap_or(0),
                    &tracking_body(&sample_tracking(9)),
                );
                vec![
                    Out::now(stale),
                    Out::later(Duration::from_millis(15), tracking_reply(seen, 3)),
                ]
            },
            |r, elapsed, seen| {
                assert_eq!(r.unwrap().stratum, 3, "{via:?}: used the stale reply");
                assert!(elapsed + EARLY >= TIMEOUT);
                assert_eq!(seen.len(), 2, "{via:?}: {seen:?}");
            },
        );
    }
}

#[test]
fn duplicated_replies_do_not_confuse_the_next_call() {
    for via in VIAS {
        let calls = Arc::new(AtomicU16::new(0));
        let c = Arc::clone(&calls);
        let fake = Fake::start(move |seen: &Seen| {
            let n = c.fetch_add(1, Ordering::SeqCst) + 1;
            let reply = tracking_reply(seen, n);
            // Once now, and again while the next call is waiting.
            vec![
                Out::now(reply.clone()),
                Out::later(Duration::from_millis(10), reply),
            ]
        });
        let client = connect(&fake, via);
        for n in 1..=3u16 {
            let (r, elapsed) = timed(|| client.tracking());
            assert_in_bound(elapsed, "duplicates");
            assert_eq!(r.unwrap().stratum, n, "{via:?}: call {n}");
        }
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(client.tracking().unwrap().stratum, 4);
        let seen = fake.requests();
        assert_eq!(seen.len(), 4, "{via:?}: no resend needed: {seen:?}");
        assert!(seen.iter().all(|s| s.attempt == 0));

        // Every record of a pipelined list duplicated.
        let d = Daemon::sample(6);
        let model = d.clone();
        fake.set_behaviour(move |seen: &Seen| {
            let r = model.answer(seen);
            vec![Out::now(r.clone()), Out::now(r)]
        });
        assert_eq!(client.sources().unwrap(), d.sources);
        assert_eq!(client.source_stats().unwrap(), d.stats);
        assert_recovers(&fake, &client);
    }
}

#[test]
fn reply_for_another_command_is_discarded() {
    for via in VIAS {
        discarded_case(via, |seen: &Seen| {
            let rtc = Daemon::sample(0).rtc.unwrap();
            vec![Out::now(wire::reply(
                cmd::RTCREPORT,
                rpy::RTC,
                0,
                seen.sequence,
                &rtc_body(&rtc),
            ))]
        });
    }
}

#[test]
fn wrong_sequence_is_discarded() {
    for via in VIAS {
        discarded_case(via, |seen: &Seen| {
            let body = tracking_body(&sample_tracking(2));
            vec![
                Out::now(wire::reply(
                    cmd::TRACKING,
                    rpy::TRACKING,
                    0,
                    seen.sequence.wrapping_add(1),
                    &body,
                )),
                Out::now(wire::reply(
                    cmd::TRACKING,
                    rpy::TRACKING,
                    0,
                    seen.sequence.swap_bytes() ^ 0x8000_0000,
                    &body,
                )),
            ]
        });
    }
}

#[test]
fn truncated_reply_is_a_data_error() {
    for via in VIAS {
        tracking_case(
            via,
            |seen: &Seen| {
                let mut r = tracking_reply(seen, 2);
                r.truncate(28 + 40);
                vec![Out::now(r)]
            },
            |r, elapsed, seen| {
                assert_data(&r.unwrap_err(), DataFailure::InvalidReply, 14);
                assert!(elapsed < TIMEOUT, "{via:?}: {elapsed:?}");
                assert_eq!(seen.len(), 1);
            },
        );
        // Shorter than a reply header: not a reply at all.
        discarded_case(via, |seen: &Seen| {
            let mut r = tracking_reply(seen, 2);
            r.truncate(27);
            vec![Out::now(r)]
        });
    }
}

#[test]
fn oversize_reply_is_a_data_error() {
    for via in VIAS {
        for len in [1025, 1500, 4000] {
            tracking_case(
                via,
                move |seen: &Seen| {
                    let mut r = tracking_reply(seen, 2);
                    r.resize(len, 0);
                    vec![Out::now(r)]
                },
                |r, _, seen| {
                    let e = r.unwrap_err();
                    assert_data(&e, DataFailure::InvalidReply, 14);
                    assert!(e.to_string().contains("oversize"), "{e}");
                    assert_eq!(seen.len(), 1);
                },
            );
        }
        // 1024 bytes is the largest accepted; bytes past the body are ignored.
        tracking_case(
            via,
            |seen: &Seen| {
                let mut r = tracking_reply(seen, 2);
                r.resize(1024, 0xEE);
                vec![Out::now(r)]
            },
            |r, _, _| assert_eq!(r.unwrap(), sample_tracking(2)),
        );
    }
}

#[test]
fn wrong_protocol_version_is_a_data_error() {
    // (version, status, expected kind)
    let cases = [
        (5u8, 0u16, DataFailure::OldServer, 12),
        // A version-5 chronyd (≤ 1.29) rejecting our version-6 request.
        (5, 18, DataFailure::OldServer, 12),
        (4, 0, DataFailure::OldServer, 12),
        (7, 0, DataFailure::NewServer, 13),
        (7, 18, DataFailure::NewServer, 13),
        (255, 0, DataFailure::NewServer, 13),
    ];
    for via in VIAS {
        for (version, status, kind, code) in cases {
            tracking_case(
                via,
                move |seen: &Seen| {
                    let mut r = if status == 0 {
                        tracking_reply(seen, 2)
                    } else {
                        seen.status(status)
                    };
                    r[0] = version;
                    vec![Out::now(r)]
                },
                |r, _, _| assert_data(&r.unwrap_err(), kind, code),
            );
        }
    }
}

#[test]
fn packets_that_are_not_replies_are_discarded() {
    for via in VIAS {
        // pkt_type 1 (a request), 3 (unknown), and non-zero reserved bytes.
        discarded_case(via, |seen: &Seen| {
            [(1usize, 1u8), (1, 3), (1, 0), (2, 1), (3, 1)]
                .into_iter()
                .map(|(at, value)| {
                    let mut r = tracking_reply(seen, 2);
                    r[at] = value;
                    Out::now(r)
                })
                .collect()
        });
    }
}

#[test]
fn every_error_status_of_tracking_maps_to_its_kind() {
    for via in VIAS {
        let status = Arc::new(AtomicU16::new(0));
        let st = Arc::clone(&status);
        let fake =
            Fake::start(move |seen: &Seen| vec![Out::now(seen.status(st.load(Ordering::SeqCst)))]);
        let client = connect(&fake, via);
        for s in 1..=21u16 {
            status.store(s, Ordering::SeqCst);
            let (r, elapsed) = timed(|| client.tracking());
            assert!(elapsed < TIMEOUT, "{via:?} status {s}: {elapsed:?}");
            let e = r.unwrap_err();
            match s {
                2 => {
                    assert!(matches!(e, Error::Unauthorized { .. }), "{s}: {e:?}");
                    assert_eq!(e.error_code(), Some(9));
                }
                3 => assert_data(&e, DataFailure::OldServer, 12),
                6 | 13 => {
                    assert!(matches!(e, Error::NotAvailable { .. }), "{s}: {e:?}");
                    assert_eq!(e.error_code(), Some(10));
                }
                18 | 19 => assert_data(&e, DataFailure::NewServer, 13),
                other => assert_data(&e, DataFailure::UnexpectedStatus(other), 11),
            }
        }
        assert_eq!(fake.requests().len(), 21, "{via:?}: no resend on a status");
        assert_recovers(&fake, &client);
    }
}

#[test]
fn garbage_is_discarded() {
    for via in VIAS {
        discarded_case(via, |seen: &Seen| {
            let mut noise: Vec<u8> = (0..200u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            // Make one look almost like the reply: right sequence, wrong
            // type byte.
            noise[16..20].copy_from_slice(&seen.sequence.to_be_bytes());
            vec![
                Out::now(Vec::new()),
                Out::now(vec![0xFF; 5]),
                Out::now(vec![0xFF; 28]),
                Out::now(vec![0; 28]),
                Out::now(noise),
            ]
        });
    }
}

#[test]
fn reply_only_after_the_first_resend_is_used() {
    for via in VIAS {
        tracking_case(
            via,
            |seen: &Seen| {
                if seen.attempt == 0 {
                    Vec::new()
                } else {
                    vec![Out::now(tracking_reply(seen, 4))]
                }
            },
            |r, elapsed, seen| {
                assert_eq!(r.unwrap().stratum, 4);
                assert!(elapsed + EARLY >= TIMEOUT, "{elapsed:?}");
                assert!(elapsed < TIMEOUT * 3 + SLACK, "{elapsed:?}");
                assert_eq!(seen.len(), 2);
                assert_eq!(seen[1].attempt, 1);
            },
        );
    }
}

#[test]
fn unknown_reply_code_means_a_newer_server() {
    for via in VIAS {
        tracking_case(
            via,
            |seen: &Seen| {
                let body = tracking_body(&sample_tracking(2));
                vec![Out::now(seen.reply(99, 0, &body))]
            },
            |r, _, seen| {
                assert_data(&r.unwrap_err(), DataFailure::NewServer, 13);
                assert_eq!(seen.len(), 1);
            },
        );
    }
}

/// A daemon whose source list changes (3 → 2 other sources) the first time
/// index 1 is asked for, which it answers with `gone` (a reply builder).
fn changing_list(
    gone: fn(&Seen) -> Vec<u8>,
) -> (Daemon, impl FnMut(&Seen) -> Vec<Out> + Send + 'static) {
    let before = Daemon::sample(3);
    let mut after = Daemon::sample(0);
    after.sources = vec![sample_source(10), sample_source(11)];
    after.stats = vec![sample_stats(10), sample_stats(11)];
    let expected = after.clone();
    let mut changed = false;
    let behaviour = move |seen: &Seen| {
        let is_record = matches!(seen.command, cmd::SOURCE_DATA | cmd::SOURCESTATS);
        if !changed && is_record && seen.index == 1 {
            changed = true;
            return vec![Out::now(gone(seen))];
        }
        let d = if changed { &after } else { &before };
        vec![Out::now(d.answer(seen))]
    };
    (expected, behaviour)
}

fn count(seen: &[Seen], command: u16) -> usize {
    seen.iter().filter(|s| s.command == command).count()
}

#[test]
fn source_list_change_restarts_from_a_fresh_count() {
    let gone_by: [fn(&Seen) -> Vec<u8>; 2] = [
        |seen| seen.status(4),
        // Post-4.8 development chronyd: RPY_NULL with status 0.
        |seen| seen.status(0),
    ];
    for via in VIAS {
        for gone in gone_by {
            let (expected, behaviour) = changing_list(gone);
            let fake = Fake::start(behaviour);
            let client = connect(&fake, via);
            let (r, elapsed) = timed(|| client.sources());
            assert_in_bound(elapsed, "sources");
            assert_eq!(r.unwrap(), expected.sources, "{via:?}");
            assert_eq!(count(&fake.requests(), cmd::N_SOURCES), 2);

            let (expected, behaviour) = changing_list(gone);
            fake.set_behaviour(behaviour);
            fake.clear();
            assert_eq!(client.source_stats().unwrap(), expected.stats, "{via:?}");
            assert_eq!(count(&fake.requests(), cmd::N_SOURCES), 2);
            assert_recovers(&fake, &client);
        }
    }
}

fn first_field(record: &impl Record) -> String {
    format!("{:?}", record.fields().unwrap().items()[0])
}

/// Lost replies in a full window (every third SOURCE_DATA's first reply
/// dropped, 14 of 40): each lost one is resent on its own timeout while the
/// others go on, so the read ends after about two timeouts, not one per
/// loss, and every record is the one asked for.
#[test]
fn lost_replies_in_a_full_window_are_resent_without_stalling() {
    for via in VIAS {
        let daemon = Daemon::sample(40);
        let expected = daemon.sources.clone();
        let fake = Fake::start(move |seen: &Seen| {
            if seen.command == cmd::SOURCE_DATA && seen.index.is_multiple_of(3) && seen.attempt == 0
            {
                return Vec::new();
            }
            vec![Out::now(daemon.answer(seen))]
        });
        let client = connect(&fake, via);
        let (r, elapsed) = timed(|| client.sources());
        assert_eq!(r.unwrap(), expected, "{via:?}");
        let seen = fake.requests();
        let resent = seen
            .iter()
            .filter(|s| s.command == cmd::SOURCE_DATA && s.attempt > 0)
            .count();
        assert_eq!(resent, 14, "{via:?}: one resend per lost reply");
        // One timeout per loss in turn would be 14 x 50 ms.
        assert!(
            elapsed < TIMEOUT * 4 + SLACK,
            "{via:?}: {elapsed:?} for 14 lost replies"
        );
        assert_recovers(&fake, &client);
    }
}

/// The indexes `read_each` hands over for the report `name`, and the
/// records' first field (the address) with each.
fn handed(client: &Client, name: &str) -> Result<Vec<(usize, String)>, Error> {
    let mut got = Vec::new();
    client.read_each(name, &Args::NONE, &|| false, &mut |index, fields| {
        got.push((index, format!("{:?}", fields.items()[0])));
        Ok(())
    })?;
    Ok(got)
}

#[test]
fn read_each_hands_records_in_order_and_starts_again_from_zero() {
    for via in VIAS {
        // Index 0's reply comes last: the others wait for it.
        let daemon = Daemon::sample(4);
        let fake = Fake::start(move |seen: &Seen| {
            let reply = daemon.answer(seen);
            if seen.command == cmd::SOURCE_DATA && seen.index == 0 {
                vec![Out::later(Duration::from_millis(20), reply)]
            } else {
                vec![Out::now(reply)]
            }
        });
        let client = connect(&fake, via);
        let got = handed(&client, "sources").unwrap();
        let want: Vec<(usize, String)> = client
            .sources()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, s)| (i, first_field(s)))
            .collect();
        assert_eq!(got, want, "{via:?}");
        assert_eq!(got.len(), 4);

        // The list changes at index 1: record 0 came, then the read starts
        // again and hands 0 and 1 of the new list.
        let (expected, behaviour) = changing_list(|seen| seen.status(4));
        fake.set_behaviour(behaviour);
        let got = handed(&client, "sources").unwrap();
        let indexes: Vec<usize> = got.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, [0, 0, 1], "{via:?}");
        let last: Vec<String> = got[1..].iter().map(|(_, a)| a.clone()).collect();
        let want: Vec<String> = expected.sources.iter().map(first_field).collect();
        assert_eq!(last, want, "{via:?}");

        // An error from the sink ends the read with it, and the next call works.
        fake.set_behaviour(serve(Daemon::sample(3)));
        let e = client
            .read_each("sources", &Args::NONE, &|| false, &mut |index, _| {
                if index == 1 {
                    Err(Error::Interrupted)
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
        assert!(matches!(e, Error::Interrupted), "{e}");
        assert_recovers(&fake, &client);
    }
}

#[test]
fn no_such_source_forever_is_an_error_not_a_hang() {
    for via in VIAS {
        let fake = Fake::start(|seen: &Seen| {
            let r = match seen.command {
                cmd::N_SOURCES => seen.reply(rpy::N_SOURCES, 0, &2u32.to_be_bytes()),
                _ => seen.status(4),
            };
            vec![Out::now(r)]
        });
        let client = connect(&fake, via);
        for read in [0, 1] {
            let (r, elapsed) = timed(|| {
                if read == 0 {
                    client.sources().map(|_| ())
                } else {
                    client.source_stats().map(|_| ())
                }
            });
            assert!(elapsed < TIMEOUT, "{via:?}: {elapsed:?}");
            let e = r.unwrap_err();
            assert_data(&e, DataFailure::UnexpectedStatus(4), 11);
        }
        let seen = fake.requests();
        // A bounded number of re-reads (4 each), then the error.
        assert_eq!(count(&seen, cmd::N_SOURCES), 8, "{via:?}");
        assert_recovers(&fake, &client);
    }
}

#[test]
fn implausible_source_count_is_a_data_error() {
    for via in VIAS {
        for n in [4_000_000_000u32, u32::MAX, 65_537] {
            let fake = Fake::start(move |seen: &Seen| {
                vec![Out::now(seen.reply(rpy::N_SOURCES, 0, &n.to_be_bytes()))]
            });
            let client = connect(&fake, via);
            let (r, elapsed) = timed(|| client.sources());
            assert!(elapsed < TIMEOUT, "{elapsed:?}");
            assert_data(&r.unwrap_err(), DataFailure::InvalidValue, 14);
            let (r, _) = timed(|| client.source_stats());
            assert_data(&r.unwrap_err(), DataFailure::InvalidValue, 14);
            let seen = fake.requests();
            assert!(
                seen.iter().all(|s| s.command == cmd::N_SOURCES),
                "no record requested for a count of {n}"
            );
            assert_recovers(&fake, &client);
        }
    }
}

#[test]
fn rtc_not_running_is_not_available() {
    for via in VIAS {
        let mut d = Daemon::sample(1);
        d.rtc = None;
        let fake = Fake::start(serve(d));
        let client = connect(&fake, via);
        let (r, elapsed) = timed(|| client.rtc_data());
        assert!(elapsed < TIMEOUT);
        let e = r.unwrap_err();
        assert!(matches!(e, Error::NotAvailable { .. }), "{e:?}");
        assert_eq!(e.error_code(), Some(10));
        assert!(e.to_string().contains("RTC"), "{e}");
        assert_recovers(&fake, &client);
    }
}

#[test]
fn udp_port_with_nothing_listening_is_refused_quickly_without_fallback() {
    // A port that was free a moment ago and has nothing bound now.
    let port = Fake::start(silent()).udp_addr().port();
    let address = format!("127.0.0.1:{port}");
    let options = ClientOptions {
        timeout: Duration::from_secs(1),
        retries: 2,
    };
    let client = Client::connect(Some(&address), options).unwrap();
    for _ in 0..2 {
        let (r, elapsed) = timed(|| client.tracking());
        let e = r.unwrap_err();
        assert!(
            matches!(
                e,
                Error::Connection {
                    kind: ConnectionFailure::Refused,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.error_code(), Some(6));
        assert!(e.to_string().contains(&address), "{e}");
        assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
        // An explicit address never falls back to another one.
        assert_eq!(client.address(), address);
        assert_eq!(client.transport_kind(), TransportKind::CommandPort);
    }
    // chronyd starts listening there: the same client works.
    let d = Daemon::sample(2);
    let fake = Fake::start_on(port, serve(d.clone())).expect("rebind the port");
    assert_eq!(client.tracking().unwrap(), d.tracking);
    assert_eq!(client.sources().unwrap(), d.sources);
    drop(fake);
}

#[test]
fn explicit_unix_address_never_falls_back() {
    let fake = Fake::start(serve(Daemon::sample(1)));
    let address = fake.address(Via::Unix);
    let client = connect(&fake, Via::Unix);
    client.tracking().unwrap();
    drop(fake);
    // The server socket is gone: an error about that path, never another
    // address.
    let (r, elapsed) = timed(|| client.tracking());
    let e = r.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Connection {
                kind: ConnectionFailure::Refused | ConnectionFailure::Unreachable,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains(&address), "{e}");
    assert_in_bound(elapsed, "vanished server");
    assert_eq!(client.address(), address);
    assert_eq!(client.transport_kind(), TransportKind::UnixSocket);

    let e = Client::connect(Some(&address), opts()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Connection {
                kind: ConnectionFailure::Unreachable,
                ..
            }
        ),
        "{e:?}"
    );
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// The client directories beside the fake's socket that this process made:
/// `pychrony.<6 random>` that this process holds flocked (`/proc/locks`
/// names the holder of each lock, by inode).
fn our_client_dirs(dir: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let pid = std::process::id().to_string();
    let locks = fs::read_to_string("/proc/locks").unwrap();
    let held: Vec<String> = locks
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() > 5 && f[1] == "FLOCK" && f[4] == pid)
        .map(|f| f[5].to_owned())
        .collect();
    // /proc/locks names the file as MAJOR:MINOR:INODE, the device in hex.
    let file_id = |m: &fs::Metadata| {
        let dev = m.dev();
        format!(
            "{:02x}:{:02x}:{}",
            libc::major(dev),
            libc::minor(dev),
            m.ino()
        )
    };
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("pychrony."))
        .map(|e| e.path())
        .filter(|p| fs::metadata(p).is_ok_and(|m| held.contains(&file_id(&m))))
        .collect()
}

fn assert_client_socket_layout(fake: &Fake) {
    let outer = our_client_dirs(fake.dir());
    assert_eq!(outer.len(), 1, "{outer:?}");
    let outer = &outer[0];
    let suffix = outer.file_name().unwrap().to_string_lossy().into_owned();
    let random = suffix.strip_prefix("pychrony.").unwrap();
    assert_eq!(random.len(), 6, "{suffix}");
    assert_eq!(mode(outer), 0o711, "{}", outer.display());
    let inner: Vec<PathBuf> = fs::read_dir(outer)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(inner.len(), 1, "{inner:?}");
    let inner = &inner[0];
    assert_eq!(inner.file_name().unwrap().len(), 5);
    assert_eq!(mode(inner), 0o711, "{}", inner.display());
    let sock = inner.join("s");
    let meta = fs::symlink_metadata(&sock).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(mode(&sock), 0o666);
}

#[test]
fn client_socket_directories_have_their_modes_and_are_removed() {
    let d = Daemon::sample(1);
    let fake = Fake::start(serve(d.clone()));

    let client = connect(&fake, Via::Unix);
    assert_client_socket_layout(&fake);
    assert_eq!(client.tracking().unwrap(), d.tracking);
    drop(client);
    assert!(our_client_dirs(fake.dir()).is_empty());

    let client = connect(&fake, Via::Unix);
    assert_client_socket_layout(&fake);
    assert!(client.is_open());
    client.close();
    assert!(!client.is_open());
    assert!(our_client_dirs(fake.dir()).is_empty());
    client.close();
    let e = client.tracking().unwrap_err();
    assert!(
        matches!(
            e,
            Error::Connection {
                kind: ConnectionFailure::Closed,
                ..
            }
        ),
        "{e:?}"
    );
    // Only the fake's own socket is left.
    let left: Vec<_> = fs::read_dir(fake.dir()).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

/// A client directory as a process of this version leaves it: 0711 and an
/// inner directory (its lock, on the directory, went with the process).
fn plant_client_dir(path: &Path) {
    fs::create_dir(path).unwrap();
    fs::create_dir(path.join("abcde")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o711)).unwrap();
}

#[test]
fn stale_client_directories_of_dead_processes_are_removed() {
    let fake = Fake::start(serve(Daemon::sample(1)));
    // Dead: nobody holds its lock. Live: another process holds its lock
    // (flock(1)), as a live client does.
    let stale = fake.dir().join("pychrony.dead01");
    plant_client_dir(&stale);
    let kept_live = fake.dir().join("pychrony.live01");
    plant_client_dir(&kept_live);
    let mut holder = std::process::Command::new("flock")
        .arg(&kept_live)
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    let held = Instant::now();
    while std::process::Command::new("flock")
        .args(["-n"])
        .arg(&kept_live)
        .arg("true")
        .status()
        .unwrap()
        .success()
    {
        assert!(
            held.elapsed() < Duration::from_secs(10),
            "flock(1) never took the lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let unrelated = fake.dir().join("other.dir");
    let not_ours = fake.dir().join("pychrony.notapid.xyz");
    for d in [&unrelated, &not_ours] {
        fs::create_dir_all(d.join("inner")).unwrap();
        fs::write(d.join("inner").join("file"), b"x").unwrap();
    }

    let client = connect(&fake, Via::Unix);
    client.tracking().unwrap();
    assert!(!stale.exists(), "stale directory left");
    assert!(kept_live.join("abcde").exists());
    assert!(unrelated.join("inner/file").exists());
    assert!(not_ours.join("inner/file").exists());
    assert_eq!(our_client_dirs(fake.dir()).len(), 1);
    drop(client);
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(our_client_dirs(fake.dir()).is_empty());
}

#[test]
fn full_unix_socket_queue_times_out_instead_of_hanging() {
    let d = Daemon::sample(1);
    let fake = Fake::start(serve(d.clone()));
    fake.pause(true);
    // Fill the server's receive queue from unbound sockets until a fresh
    // one cannot add a single datagram.
    let mut fillers = Vec::new();
    let mut full = false;
    for _ in 0..64 {
        let f = UnixDatagram::unbound().unwrap();
        f.set_nonblocking(true).unwrap();
        let mut sent = 0;
        while sent < 100_000 && f.send_to(&[0u8; 104], fake.sock_path()).is_ok() {
            sent += 1;
        }
        fillers.push(f);
        if sent == 0 {
            full = true;
            break;
        }
    }
    assert!(full, "could not fill the socket queue");

    let client = connect(&fake, Via::Unix);
    let (r, elapsed) = timed(|| client.tracking());
    assert_timed_out(&r.unwrap_err());
    assert_in_bound(elapsed, "full queue");
    let (r, elapsed) = timed(|| client.sources());
    assert_timed_out(&r.unwrap_err());
    assert_in_bound(elapsed, "full queue");

    // The daemon catches up: the same client works.
    fake.pause(false);
    assert_eq!(client.tracking().unwrap(), d.tracking);
    assert_eq!(client.sources().unwrap(), d.sources);
    drop(fillers);
}

fn slow_options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(1),
        retries: 2,
    }
}

fn assert_interrupted(fake: &Fake, via: Via) {
    let client = Client::connect(Some(&fake.address(via)), slow_options()).unwrap();
    let checks = AtomicUsize::new(0);
    let (r, elapsed) = timed(|| {
        client.tracking_interruptible(&|| {
            checks.fetch_add(1, Ordering::SeqCst);
            true
        })
    });
    let e = r.unwrap_err();
    assert!(matches!(e, Error::Interrupted), "{via:?}: {e:?}");
    assert_eq!(e.error_code(), None);
    assert!(
        elapsed < Duration::from_millis(150),
        "{via:?}: interrupted after {elapsed:?}"
    );
    assert!(checks.load(Ordering::SeqCst) >= 1);
    let (r, elapsed) = timed(|| client.sources_interruptible(&|| true));
    assert!(matches!(r, Err(Error::Interrupted)), "{via:?}: {r:?}");
    assert!(elapsed < Duration::from_millis(150), "{elapsed:?}");

    // Not interrupted: a normal call on the same client.
    let d = Daemon::sample(2);
    fake.set_behaviour(serve(d.clone()));
    let (r, elapsed) = timed(|| client.tracking_interruptible(&|| false));
    assert_eq!(r.unwrap(), d.tracking);
    assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
    assert_eq!(client.sources().unwrap(), d.sources);
}

#[test]
fn interrupt_stops_a_silent_wait() {
    for via in VIAS {
        let fake = Fake::start(silent());
        assert_interrupted(&fake, via);
    }
}

#[test]
fn interrupt_is_checked_while_unusable_datagrams_keep_arriving() {
    for via in VIAS {
        // Every request is answered by a stream of datagrams the client
        // must discard: garbage, and replies with a wrong sequence.
        let fake = Fake::start(|seen: &Seen| {
            (1..200u32)
                .map(|i| {
                    let after = Duration::from_millis(u64::from(i) * 3);
                    if i % 2 == 0 {
                        Out::later(after, vec![0xAB; 40])
                    } else {
                        let mut r = tracking_reply(seen, 2);
                        r[16..20].copy_from_slice(&(!seen.sequence).to_be_bytes());
                        Out::later(after, r)
                    }
                })
                .collect()
        });
        assert_interrupted(&fake, via);
    }
}

#[test]
fn concurrent_calls_on_one_client_are_serialised() {
    for via in VIAS {
        let d = Daemon::sample(4);
        let fake = Fake::start(serve(d.clone()));
        let client = Arc::new(connect(&fake, via));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let c = Arc::clone(&client);
                let d = d.clone();
                let errs = Arc::clone(&errors);
                std::thread::spawn(move || {
                    for _ in 0..10 {
                        match c.sources() {
                            Ok(s) if s == d.sources => {}
                            other => errs.lock().unwrap().push(format!("{other:?}")),
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(errors.lock().unwrap().is_empty(), "{errors:?}");
    }
}
