//! The crate's one error type.
//!
//! Every failure is an [`Error`]; its variant is the *kind* a caller acts on
//! (retry later, fix permissions, report a bug, …) and its message names what
//! was tried, where, and what to do about it.

use std::io;

/// Why talking to chronyd failed at the transport level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionFailure {
    /// The connection could not be opened: no socket file, a socket nobody
    /// listens on, not a socket, an unknown host name, no route. This is
    /// where libchrony's `chrony_open_socket()` fails, so the code is its
    /// result, -1 ([`code::OPEN_FAILED`]).
    Unreachable,
    /// The peer refused a request (`ECONNREFUSED` on a UDP datagram, or a
    /// Unix socket whose listener went away after opening): nothing listens
    /// there now.
    Refused,
    /// Sending a request failed.
    SendFailed,
    /// Receiving a reply failed.
    RecvFailed,
    /// No reply arrived within the call's deadline.
    TimedOut,
    /// The connection was closed by its owner; open a new one.
    Closed,
}

/// Why a reply could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFailure {
    /// The reply is malformed: too short, wrong reply code, garbage.
    InvalidReply,
    /// A decoded value is out of its valid range (e.g. a non-finite float).
    InvalidValue,
    /// chronyd answered with a status this client does not expect.
    UnexpectedStatus(u16),
    /// chronyd does not know the command (status 3 INVALID): it is older than
    /// the command.
    OldServer,
    /// chronyd rejected the protocol version or request length (status 18 or
    /// 19), or answered with an unknown reply code: it is newer than this
    /// client.
    NewServer,
}

/// Every error this crate returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// chronyd could not be reached or did not answer in time.
    #[error("{message}")]
    Connection {
        /// What exactly failed.
        kind: ConnectionFailure,
        /// A message naming the address, what was tried and what to do.
        message: String,
        /// The operating system's error, when there was one.
        #[source]
        source: Option<io::Error>,
    },
    /// The Unix socket (or its directory) refused this user, so the
    /// connection could not be opened (code -1, as for
    /// [`ConnectionFailure::Unreachable`]).
    #[error("{message}")]
    Permission {
        /// A message naming the path and the fix.
        message: String,
        /// The operating system's error.
        #[source]
        source: Option<io::Error>,
    },
    /// chronyd's reply was garbled, inconsistent or carried an invalid value.
    #[error("{message}")]
    Data {
        /// What was wrong with it.
        kind: DataFailure,
        /// A message naming the report, field or status.
        message: String,
    },
    /// chronyd does not provide this report (status 13: RTC driver not
    /// running, or 6: facility not enabled).
    #[error("{message}")]
    NotAvailable {
        /// Why it is unavailable and how to enable it.
        message: String,
    },
    /// chronyd refused the command on this transport (status 2): it needs
    /// the Unix socket.
    #[error("{message}")]
    Unauthorized {
        /// A message naming the command and the fix.
        message: String,
    },
    /// The caller passed an invalid address or option.
    #[error("{message}")]
    InvalidArgument {
        /// What is invalid and what is accepted.
        message: String,
    },
    /// A call on this connection is already in progress in the calling
    /// thread (a signal handler run while it waited called it again).
    #[error("{message}")]
    Busy {
        /// What happened and what to do instead.
        message: String,
    },
    /// The caller's interrupt check asked to stop waiting (e.g. Ctrl-C).
    #[error("interrupted while waiting for chronyd")]
    Interrupted,
    /// The libchrony backend could not be used (library missing, symbol
    /// missing, or libchrony reported an error of its own).
    #[error("{message}")]
    Library {
        /// What was tried and what to install.
        message: String,
        /// libchrony's `chrony_err` value, when libchrony returned one.
        code: Option<i32>,
    },
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// libchrony's `chrony_err` values, which pychrony exposes as `error_code`,
/// and `chrony_open_socket()`'s failure result.
pub mod code {
    /// What `chrony_open_socket()` returns when the socket cannot be opened
    /// (pychrony 2.0.3 passes it on as the error code): not a `chrony_err`.
    pub const OPEN_FAILED: i32 = -1;
    /// `CHRONY_NO_MEMORY`
    pub const NO_MEMORY: i32 = 1;
    /// `CHRONY_SEND_FAILED`
    pub const SEND_FAILED: i32 = 5;
    /// `CHRONY_RECV_FAILED`
    pub const RECV_FAILED: i32 = 6;
    /// `CHRONY_INVALID_ARGUMENT`
    pub const INVALID_ARGUMENT: i32 = 7;
    /// `CHRONY_UNAUTHORIZED`
    pub const UNAUTHORIZED: i32 = 9;
    /// `CHRONY_DISABLED`
    pub const DISABLED: i32 = 10;
    /// `CHRONY_UNEXPECTED_STATUS`
    pub const UNEXPECTED_STATUS: i32 = 11;
    /// `CHRONY_OLD_SERVER`
    pub const OLD_SERVER: i32 = 12;
    /// `CHRONY_NEW_SERVER`
    pub const NEW_SERVER: i32 = 13;
    /// `CHRONY_INVALID_RESPONSE`
    pub const INVALID_RESPONSE: i32 = 14;
}

impl Error {
    /// The number pychrony 2.0.3 reports for the same condition: libchrony's
    /// `chrony_err`, or -1 (`chrony_open_socket()`'s result) when the
    /// connection cannot be opened, or `None` where there is none (an
    /// interrupt, a library that cannot be loaded).
    #[must_use]
    pub fn error_code(&self) -> Option<i32> {
        match self {
            Error::Connection { kind, .. } => match kind {
                ConnectionFailure::Unreachable => Some(code::OPEN_FAILED),
                ConnectionFailure::Closed => None,
                ConnectionFailure::SendFailed => Some(code::SEND_FAILED),
                ConnectionFailure::Refused
                | ConnectionFailure::RecvFailed
                | ConnectionFailure::TimedOut => Some(code::RECV_FAILED),
            },
            Error::Permission { .. } => Some(code::OPEN_FAILED),
            Error::Interrupted | Error::Busy { .. } => None,
            Error::Data { kind, .. } => Some(match kind {
                DataFailure::InvalidReply | DataFailure::InvalidValue => code::INVALID_RESPONSE,
                DataFailure::UnexpectedStatus(_) => code::UNEXPECTED_STATUS,
                DataFailure::OldServer => code::OLD_SERVER,
                DataFailure::NewServer => code::NEW_SERVER,
            }),
            Error::NotAvailable { .. } => Some(code::DISABLED),
            Error::Unauthorized { .. } => Some(code::UNAUTHORIZED),
            Error::InvalidArgument { .. } => Some(code::INVALID_ARGUMENT),
            Error::Library { code, .. } => *code,
        }
    }

    /// True for a connection error whose kind is `TimedOut`.
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::Connection {
                kind: ConnectionFailure::TimedOut,
                ..
            }
        )
    }

    pub(crate) fn data(kind: DataFailure, message: impl Into<String>) -> Self {
        Error::Data {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn invalid_reply(message: impl Into<String>) -> Self {
        Self::data(DataFailure::InvalidReply, message)
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            message: message.into(),
        }
    }

    pub(crate) fn connection(
        kind: ConnectionFailure,
        message: impl Into<String>,
        source: Option<io::Error>,
    ) -> Self {
        Error::Connection {
            kind,
            message: message.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_libchrony() {
        let e = Error::connection(ConnectionFailure::TimedOut, "t", None);
        assert_eq!(e.error_code(), Some(6));
        assert!(e.is_timeout());
        let e = Error::connection(ConnectionFailure::SendFailed, "s", None);
        assert_eq!(e.error_code(), Some(5));
        assert!(!e.is_timeout());
        assert_eq!(
            Error::connection(ConnectionFailure::Unreachable, "u", None).error_code(),
            Some(-1)
        );
        assert_eq!(
            Error::connection(ConnectionFailure::Refused, "r", None).error_code(),
            Some(6)
        );
        assert_eq!(
            Error::connection(ConnectionFailure::RecvFailed, "r", None).error_code(),
            Some(6)
        );
        assert_eq!(
            Error::Permission {
                message: String::new(),
                source: None
            }
            .error_code(),
            Some(code::OPEN_FAILED)
        );
        assert_eq!(
            Error::Unauthorized {
                message: String::new()
            }
            .error_code(),
            Some(9)
        );
        assert_eq!(
            Error::data(DataFailure::UnexpectedStatus(4), "x").error_code(),
            Some(11)
        );
        assert_eq!(Error::invalid_reply("x").error_code(), Some(14));
        assert_eq!(
            Error::data(DataFailure::OldServer, "x").error_code(),
            Some(12)
        );
        assert_eq!(
            Error::data(DataFailure::NewServer, "x").error_code(),
            Some(13)
        );
        assert_eq!(Error::invalid_argument("x").error_code(), Some(7));
        assert_eq!(
            Error::NotAvailable {
                message: String::new()
            }
            .error_code(),
            Some(10)
        );
        assert_eq!(Error::Interrupted.error_code(), None);
        assert_eq!(
            Error::Library {
                message: String::new(),
                code: None
            }
            .error_code(),
            None
        );
        assert_eq!(Error::invalid_reply("garbled").to_string(), "garbled");
    }
}
