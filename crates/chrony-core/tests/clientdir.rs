//! `transport::remove_client_dirs_at_exit`: removing every client socket
//! directory of the process while calls are still running (as at
//! interpreter exit with daemon threads), once, without touching later ones.
//!
//! Its own test binary: the function acts on the whole process, so no other
//! test may run beside it.

mod common;

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrony_core::transport::{remove_client_dirs_at_exit, CLIENT_DIR_PREFIX};
use chrony_core::{Client, ClientOptions, ConnectionFailure, Error};
use common::{serve, silent, Daemon, Fake, Via};

fn client_dirs(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(CLIENT_DIR_PREFIX))
        .collect()
}

#[test]
fn exit_cleanup_removes_directories_of_running_calls_once() {
    let silent_fake = Fake::start(silent());
    let d = Daemon::sample(1);
    let fake = Fake::start(serve(d.clone()));
    let slow = ClientOptions {
        timeout: Duration::from_millis(1500),
        retries: 0,
    };
    let parked = Arc::new(Client::connect(Some(&silent_fake.address(Via::Unix)), slow).unwrap());
    let working =
        Client::connect(Some(&fake.address(Via::Unix)), ClientOptions::default()).unwrap();
    assert_eq!(working.tracking().unwrap(), d.tracking);
    // A thread parked mid-call, holding its connection.
    let p = Arc::clone(&parked);
    let call = std::thread::spawn(move || p.tracking());
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(client_dirs(silent_fake.dir()).len(), 1);
    assert_eq!(client_dirs(fake.dir()).len(), 1);

    // From another thread than the callers; twice.
    std::thread::spawn(remove_client_dirs_at_exit)
        .join()
        .unwrap();
    remove_client_dirs_at_exit();
    assert!(client_dirs(silent_fake.dir()).is_empty());
    assert!(client_dirs(fake.dir()).is_empty());

    // The parked call ends as any unanswered call does.
    let e = call.join().unwrap().unwrap_err();
    assert!(
        matches!(
            e,
            Error::Connection {
                kind: ConnectionFailure::TimedOut,
                ..
            }
        ),
        "{e:?}"
    );

    // A connection opened afterwards has its own directory, which dropping
    // the old connections leaves alone.
    let later = Client::connect(Some(&fake.address(Via::Unix)), ClientOptions::default()).unwrap();
    assert_eq!(later.tracking().unwrap(), d.tracking);
    let kept = client_dirs(fake.dir());
    assert_eq!(kept.len(), 1);
    drop(parked);
    drop(working);
    assert_eq!(client_dirs(fake.dir()), kept);
    assert_eq!(later.tracking().unwrap(), d.tracking);
    remove_client_dirs_at_exit();
    assert!(client_dirs(fake.dir()).is_empty());
    drop(later);
    assert!(client_dirs(fake.dir()).is_empty());
    // Only the fakes' own sockets are left.
    assert_eq!(fs::read_dir(fake.dir()).unwrap().count(), 1);
    assert_eq!(fs::read_dir(silent_fake.dir()).unwrap().count(), 1);
}
