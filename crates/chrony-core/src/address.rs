//! Addresses of chronyd's command endpoints, in every form libchrony's
//! `chrony_open_socket` accepts, plus host names.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use crate::error::{Error, Result};

/// chronyd's default UDP command port.
pub const DEFAULT_PORT: u16 = 323;

/// Unix socket paths tried, in order, when no address is given.
pub const DEFAULT_SOCKET_PATHS: [&str; 2] =
    ["/run/chrony/chronyd.sock", "/var/run/chrony/chronyd.sock"];

/// `sun_path` holds 108 bytes including the terminating NUL.
pub const MAX_SOCKET_PATH: usize = 107;

/// Where to send requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// chronyd's Unix datagram socket (full access).
    Unix(PathBuf),
    /// The UDP command port at a literal address.
    Udp(SocketAddr),
    /// The UDP command port at a host name, resolved when connecting.
    Host {
        /// The name to resolve.
        host: String,
        /// The port.
        port: u16,
    },
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "{}", p.display()),
            Endpoint::Udp(a) => write!(f, "{a}"),
            Endpoint::Host { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

impl Endpoint {
    /// Parses an address: `/path/to/unix.sock`, `192.0.2.1`, `192.0.2.1:323`,
    /// `2001:db8::1`, `[2001:db8::1]:323`, `localhost`, `localhost:323`.
    /// Text with two or more colons and no brackets is an IPv6 address on the
    /// default port. A port outside 1–65535 is an error, never wrapped.
    pub fn parse(text: &str) -> Result<Endpoint> {
        if text.is_empty() || text.trim() != text {
            return Err(Error::invalid_argument(format!(
                "invalid chronyd address {text:?}: expected a Unix socket path such as \
                 /run/chrony/chronyd.sock, or host[:port] / [IPv6]:port for the UDP command port"
            )));
        }
        if text.contains('\0') {
            return Err(Error::invalid_argument(format!(
                "invalid chronyd address {text:?}: it contains a NUL byte"
            )));
        }
        if text.starts_with('/') {
            if text.len() > MAX_SOCKET_PATH {
                return Err(Error::invalid_argument(format!(
                    "Unix socket path {text:?} is {} bytes long; the limit is {MAX_SOCKET_PATH} (sun_path)",
                    text.len()
                )));
            }
            return Ok(Endpoint::Unix(PathBuf::from(text)));
        }
        if let Some(rest) = text.strip_prefix('[') {
            let Some((host, after)) = rest.split_once(']') else {
                return Err(Error::invalid_argument(format!(
                    "invalid chronyd address {text:?}: missing ']' after the IPv6 address"
                )));
            };
            let ip: Ipv6Addr = host.parse().map_err(|_| {
                Error::invalid_argument(format!(
                    "invalid chronyd address {text:?}: {host:?} is not an IPv6 address"
                ))
            })?;
            let port = match after {
                "" => DEFAULT_PORT,
                p => parse_port(text, p.strip_prefix(':').unwrap_or("x"))?,
            };
            return Ok(Endpoint::Udp(SocketAddr::new(IpAddr::V6(ip), port)));
        }
        if text.matches(':').count() >= 2 {
            let ip: Ipv6Addr = text.parse().map_err(|_| {
                Error::invalid_argument(format!(
                    "invalid chronyd address {text:?}: not an IPv6 address (write [address]:port to give a port)"
                ))
            })?;
            return Ok(Endpoint::Udp(SocketAddr::new(IpAddr::V6(ip), DEFAULT_PORT)));
        }
        let (host, port) = match text.split_once(':') {
            Some((h, p)) => (h, parse_port(text, p)?),
            None => (text, DEFAULT_PORT),
        };
        if host.is_empty() {
            return Err(Error::invalid_argument(format!(
                "invalid chronyd address {text:?}: the host is empty"
            )));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Endpoint::Udp(SocketAddr::new(ip, port)));
        }
        Ok(Endpoint::Host {
            host: host.to_owned(),
            port,
        })
    }

    /// The endpoints tried when no address is given, in order.
    #[must_use]
    pub fn defaults() -> Vec<Endpoint> {
        let mut v: Vec<Endpoint> = DEFAULT_SOCKET_PATHS
            .iter()
            .map(|p| Endpoint::Unix(PathBuf::from(p)))
            .collect();
        v.push(Endpoint::Udp(SocketAddr::from((
            [127, 0, 0, 1],
            DEFAULT_PORT,
        ))));
        v.push(Endpoint::Udp(SocketAddr::new(
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            DEFAULT_PORT,
        )));
        v
    }
}

fn parse_port(text: &str, port: &str) -> Result<u16> {
    let bad = || {
        Error::invalid_argument(format!(
            "invalid chronyd address {text:?}: port {port:?} is not a number from 1 to 65535"
        ))
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match port.parse::<u32>() {
        Ok(p @ 1..=65535) => Ok(p as u16),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp(s: &str) -> Endpoint {
        Endpoint::Udp(s.parse().unwrap())
    }

    #[test]
    fn every_accepted_form() {
        assert_eq!(
            Endpoint::parse("/run/chrony/chronyd.sock").unwrap(),
            Endpoint::Unix("/run/chrony/chronyd.sock".into())
        );
        assert_eq!(Endpoint::parse("192.0.2.1").unwrap(), udp("192.0.2.1:323"));
        assert_eq!(
            Endpoint::parse("192.0.2.1:4000").unwrap(),
            udp("192.0.2.1:4000")
        );
        assert_eq!(
            Endpoint::parse("2001:db8::1").unwrap(),
            udp("[2001:db8::1]:323")
        );
        assert_eq!(Endpoint::parse("::1").unwrap(), udp("[::1]:323"));
        assert_eq!(
            Endpoint::parse("[2001:db8::1]:324").unwrap(),
            udp("[2001:db8::1]:324")
        );
        assert_eq!(Endpoint::parse("[::1]").unwrap(), udp("[::1]:323"));
        assert_eq!(
            Endpoint::parse("localhost").unwrap(),
            Endpoint::Host {
                host: "localhost".into(),
                port: 323
            }
        );
        assert_eq!(
            Endpoint::parse("localhost:5000").unwrap(),
            Endpoint::Host {
                host: "localhost".into(),
                port: 5000
            }
        );
    }

    #[test]
    fn bad_forms_are_errors() {
        for bad in [
            "",
            " ",
            "127.0.0.1:0",
            "127.0.0.1:65536",
            "127.0.0.1:70000",
            "127.0.0.1:-1",
            "127.0.0.1:",
            "[::1]:99999",
            "[::1",
            "[nothost]:1",
            ":323",
            "a\0b",
            "1:2:zz",
            "[::1]x",
        ] {
            let e = Endpoint::parse(bad).unwrap_err();
            assert_eq!(e.error_code(), Some(7), "{bad:?}");
        }
        let long = format!("/{}", "a".repeat(120));
        assert!(Endpoint::parse(&long)
            .unwrap_err()
            .to_string()
            .contains("sun_path"));
    }

    #[test]
    fn defaults_in_order() {
        let d = Endpoint::defaults();
        assert_eq!(d.len(), 4);
        assert_eq!(d[0].to_string(), "/run/chrony/chronyd.sock");
        assert_eq!(d[1].to_string(), "/var/run/chrony/chronyd.sock");
        assert_eq!(d[2].to_string(), "127.0.0.1:323");
        assert_eq!(d[3].to_string(), "[::1]:323");
    }
}
