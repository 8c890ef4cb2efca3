//! Raw declarations of libchrony's public API (`chrony.h`, libchrony 0.1 and
//! 0.2), loaded at run time.
//!
//! libchrony is chrony's C client library (LGPL-2.1-or-later). Nothing here
//! links to it at build time: one build must work, and import, on machines
//! without it. [`Library::load`] opens the shared library and resolves every
//! function of `chrony.h` into a table of typed function pointers;
//! [`Library::get`] does that once per process and keeps the result.
//!
//! Where the library is looked for:
//!
//! 1. `LIBCHRONY_PATH`, when set and not empty: exactly that file, nothing
//!    else. An explicit path wins over the search because it is the only way
//!    to pick one library among several (a build of your own, the one from
//!    `scripts/fetch-libchrony.sh`).
//! 2. Otherwise `libchrony.so.0`, then `libchrony.so`, found by the dynamic
//!    loader's usual search (`LD_LIBRARY_PATH`, the ld.so cache, the system
//!    library directories).
//!
//! A missing library or symbol is a [`LoadError`] whose message names every
//! file tried, the loader's reason, and what to install.
//!
//! The items keep their C names (`chrony_err`, `CHRONY_OK`, …) so that they
//! can be checked against the header by eye and by tools.
//!
//! ```no_run
//! use libchrony_sys as raw;
//!
//! let lib = raw::Library::get()?;
//! // SAFETY: chrony_get_number_supported_reports takes no arguments and
//! // returns a plain integer.
//! let n = unsafe { (lib.chrony_get_number_supported_reports)() };
//! println!("{} supports {n} reports", lib.path());
//! # Ok::<(), raw::LoadError>(())
//! ```

// The C names are kept on purpose (see the crate docs).
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_long, c_uint, OsStr, OsString};
use std::fmt;
use std::marker::{PhantomData, PhantomPinned};
use std::sync::OnceLock;

/// The libchrony version whose `chrony.h` these declarations follow. The API
/// of 0.1 is the same set of functions.
pub const LIBCHRONY_VERSION: &str = "0.2";

/// The environment variable naming the library file to load.
pub const LIBCHRONY_PATH_ENV: &str = "LIBCHRONY_PATH";

/// Names tried, in order, when `LIBCHRONY_PATH` is not set.
pub const DEFAULT_NAMES: [&str; 2] = ["libchrony.so.0", "libchrony.so"];

/// `chrony_err`: libchrony's error codes. A C enum, passed as an `unsigned
/// int` (its type in GCC and Clang, as no value is negative).
pub type chrony_err = c_uint;
/// Success.
pub const CHRONY_OK: chrony_err = 0;
/// `malloc` failed.
pub const CHRONY_NO_MEMORY: chrony_err = 1;
/// `/dev/urandom` could not be opened.
pub const CHRONY_NO_RANDOM: chrony_err = 2;
/// The report name is not one libchrony knows.
pub const CHRONY_UNKNOWN_REPORT: chrony_err = 3;
/// Reading `/dev/urandom` failed.
pub const CHRONY_RANDOM_FAILED: chrony_err = 4;
/// `send()` failed (see `errno`).
pub const CHRONY_SEND_FAILED: chrony_err = 5;
/// `recv()` failed (see `errno`).
pub const CHRONY_RECV_FAILED: chrony_err = 6;
/// An argument is out of range (e.g. record index ≠ 0 for a single-record
/// report).
pub const CHRONY_INVALID_ARGUMENT: chrony_err = 7;
/// A function was called in the wrong session state (e.g.
/// `chrony_process_response` with no request outstanding).
pub const CHRONY_UNEXPECTED_CALL: chrony_err = 8;
/// chronyd answered status 2 (not authorised on this socket).
pub const CHRONY_UNAUTHORIZED: chrony_err = 9;
/// chronyd answered status 6 (not enabled) or 13 (no RTC).
pub const CHRONY_DISABLED: chrony_err = 10;
/// chronyd answered a status libchrony does not map (e.g. 4, no such source).
pub const CHRONY_UNEXPECTED_STATUS: chrony_err = 11;
/// chronyd answered status 3 (it does not know the command).
pub const CHRONY_OLD_SERVER: chrony_err = 12;
/// chronyd answered status 18/19 or an unknown reply code.
pub const CHRONY_NEW_SERVER: chrony_err = 13;
/// The reply is shorter than its layout.
pub const CHRONY_INVALID_RESPONSE: chrony_err = 14;

/// `chrony_field_type`: how a field's value is read.
pub type chrony_field_type = c_uint;
/// No such field.
pub const CHRONY_TYPE_NONE: chrony_field_type = 0;
/// Read with `chrony_get_field_uinteger`.
pub const CHRONY_TYPE_UINTEGER: chrony_field_type = 1;
/// Read with `chrony_get_field_integer`.
pub const CHRONY_TYPE_INTEGER: chrony_field_type = 2;
/// Read with `chrony_get_field_float`.
pub const CHRONY_TYPE_FLOAT: chrony_field_type = 3;
/// Read with `chrony_get_field_timespec`.
pub const CHRONY_TYPE_TIMESPEC: chrony_field_type = 4;
/// Read with `chrony_get_field_string`.
pub const CHRONY_TYPE_STRING: chrony_field_type = 5;

/// `chrony_field_content`: what a field's value means (its unit).
pub type chrony_field_content = c_uint;
/// No meaning given (or an address field without an address).
pub const CHRONY_CONTENT_NONE: chrony_field_content = 0;
/// A count.
pub const CHRONY_CONTENT_COUNT: chrony_field_content = 1;
/// A point in time.
pub const CHRONY_CONTENT_TIME: chrony_field_content = 2;
/// An interval, log2 seconds.
pub const CHRONY_CONTENT_INTERVAL_LOG2_SECONDS: chrony_field_content = 3;
/// An interval, seconds.
pub const CHRONY_CONTENT_INTERVAL_SECONDS: chrony_field_content = 4;
/// An offset, seconds.
pub const CHRONY_CONTENT_OFFSET_SECONDS: chrony_field_content = 5;
/// A measure (dispersion, deviation…), seconds.
pub const CHRONY_CONTENT_MEASURE_SECONDS: chrony_field_content = 6;
/// A frequency offset, ppm.
pub const CHRONY_CONTENT_OFFSET_PPM: chrony_field_content = 7;
/// A frequency measure (skew…), ppm.
pub const CHRONY_CONTENT_MEASURE_PPM: chrony_field_content = 8;
/// A frequency change rate, ppm per second.
pub const CHRONY_CONTENT_OFFSET_PPM_PER_SECOND: chrony_field_content = 9;
/// A ratio.
pub const CHRONY_CONTENT_RATIO: chrony_field_content = 10;
/// A reference ID.
pub const CHRONY_CONTENT_REFERENCE_ID: chrony_field_content = 11;
/// An enum value; `chrony_get_field_constant_name` names it.
pub const CHRONY_CONTENT_ENUM: chrony_field_content = 12;
/// A bit register (e.g. reachability).
pub const CHRONY_CONTENT_BITS: chrony_field_content = 13;
/// Flags; `chrony_get_field_constant_name` names each bit.
pub const CHRONY_CONTENT_FLAGS: chrony_field_content = 14;
/// An address (string).
pub const CHRONY_CONTENT_ADDRESS: chrony_field_content = 15;
/// A port number.
pub const CHRONY_CONTENT_PORT: chrony_field_content = 16;
/// An index.
pub const CHRONY_CONTENT_INDEX: chrony_field_content = 17;
/// A length in bits.
pub const CHRONY_CONTENT_LENGTH_BITS: chrony_field_content = 18;
/// A length in bytes.
pub const CHRONY_CONTENT_LENGTH_BYTES: chrony_field_content = 19;
/// A boolean.
pub const CHRONY_CONTENT_BOOLEAN: chrony_field_content = 20;

/// `chrony_session`: an opaque client-server session, only ever handled by
/// pointer. Neither `Send`, `Sync` nor `Unpin`: whoever holds one decides.
#[repr(C)]
pub struct chrony_session {
    _opaque: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `struct timespec` as returned by value from `chrony_get_field_timespec`.
/// Both members are C `long`, as in glibc and musl on every 64-bit Linux
/// target (and on 32-bit targets built without `_TIME_BITS=64`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct timespec {
    /// Seconds.
    pub tv_sec: c_long,
    /// Nanoseconds.
    pub tv_nsec: c_long,
}

/// Declares the API once: the table's fields (typed function pointers), the
/// code resolving them, and the list of symbol names.
macro_rules! api {
    ($( $(#[$doc:meta])* fn $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) $(-> $ret:ty)?; )+) => {
        /// libchrony, loaded: one typed function pointer per function of
        /// `chrony.h`, valid as long as this value lives. Every call is
        /// `unsafe`; the contract of each is the one documented in
        /// `chrony.h`, summarised on each field.
        pub struct Library {
            $( $(#[$doc])* pub $name: unsafe extern "C" fn($($arg: $ty),*) $(-> $ret)?, )+
            path: String,
            // Keeps the library mapped; the pointers above point into it.
            _lib: libloading::Library,
        }

        /// Every function of `chrony.h`, by name, in the header's order.
        pub const SYMBOLS: &[&str] = &[$(stringify!($name)),+];

        impl Library {
            fn resolve(lib: libloading::Library, path: String) -> Result<Library, LoadError> {
                $(
                    // SAFETY: the type given is the function's prototype in
                    // chrony.h (argument and return types of the same size and
                    // ABI class); the pointer is used only while `lib` is
                    // kept alive inside the returned Library.
                    let found = unsafe {
                        lib.get::<unsafe extern "C" fn($($ty),*) $(-> $ret)?>(
                            concat!(stringify!($name), "\0").as_bytes(),
                        )
                    };
                    let $name = match found {
                        Ok(symbol) => *symbol,
                        Err(e) => {
                            return Err(LoadError::MissingSymbol {
                                path,
                                symbol: stringify!($name),
                                reason: e.to_string(),
                            })
                        }
                    };
                )+
                Ok(Library { $($name,)+ path, _lib: lib })
            }
        }
    };
}

api! {
    /// `int chrony_open_socket(const char *address)`: opens a UDP or Unix
    /// socket connected to chronyd. `address`: `/path/to/unix.sock`,
    /// `192.0.2.1`, `192.0.2.1:323`, `2001:db8::1`, `[2001:db8::1]:323`; NULL
    /// or "" tries `/var/run/chrony/chronyd.sock`, `127.0.0.1`, `::1`. Returns
    /// the descriptor, or a negative value with `errno` set. For a Unix socket
    /// libchrony binds a client socket in a new directory beside the server
    /// socket (0.2: `libchrony.<random>/<random>/sock`).
    fn chrony_open_socket(address: *const c_char) -> c_int;
    /// `void chrony_close_socket(int fd)`: closes the socket and removes the
    /// client socket (and, in 0.2, its directories).
    fn chrony_close_socket(fd: c_int);
    /// `const char *chrony_get_error_string(chrony_err e)`: a static
    /// description of an error code.
    fn chrony_get_error_string(e: chrony_err) -> *const c_char;
    /// `chrony_err chrony_init_session(chrony_session **s, int fd)`: creates
    /// a session on a socket from `chrony_open_socket`.
    fn chrony_init_session(s: *mut *mut chrony_session, fd: c_int) -> chrony_err;
    /// `void chrony_deinit_session(chrony_session *s)`: frees the session
    /// (not the socket).
    fn chrony_deinit_session(s: *mut chrony_session);
    /// `int chrony_get_fd(chrony_session *s)`: the session's socket.
    fn chrony_get_fd(s: *mut chrony_session) -> c_int;
    /// `bool chrony_needs_response(chrony_session *s)`: true while a request
    /// is waiting for its reply.
    fn chrony_needs_response(s: *mut chrony_session) -> bool;
    /// `chrony_err chrony_process_response(chrony_session *s)`: receives one
    /// datagram (a blocking `recv`: call it only when the socket is
    /// readable) and processes it; a datagram that is not the awaited reply
    /// is ignored and `CHRONY_OK` returned with the request still pending.
    fn chrony_process_response(s: *mut chrony_session) -> chrony_err;
    /// `int chrony_get_number_supported_reports(void)`.
    fn chrony_get_number_supported_reports() -> c_int;
    /// `const char *chrony_get_report_name(int report)`: the name of report
    /// `0..chrony_get_number_supported_reports()`, or NULL.
    fn chrony_get_report_name(report: c_int) -> *const c_char;
    /// `chrony_err chrony_request_report_number_records(chrony_session *s,
    /// const char *report_name)`: sends the request for a report's record
    /// count (none for single-record reports).
    fn chrony_request_report_number_records(s: *mut chrony_session, report_name: *const c_char) -> chrony_err;
    /// `int chrony_get_report_number_records(chrony_session *s)`: the count
    /// received.
    fn chrony_get_report_number_records(s: *mut chrony_session) -> c_int;
    /// `chrony_err chrony_request_record(chrony_session *s, const char
    /// *report_name, int record)`: sends the request for one record. Calling
    /// it again sends a new request (new sequence number); replies to the
    /// old one are then ignored.
    fn chrony_request_record(s: *mut chrony_session, report_name: *const c_char, record: c_int) -> chrony_err;
    /// `int chrony_get_record_number_fields(chrony_session *s)`.
    fn chrony_get_record_number_fields(s: *mut chrony_session) -> c_int;
    /// `const char *chrony_get_field_name(chrony_session *s, int field)`:
    /// NULL for an invalid index; valid until the session is destroyed.
    fn chrony_get_field_name(s: *mut chrony_session, field: c_int) -> *const c_char;
    /// `int chrony_get_field_index(chrony_session *s, const char *name)`:
    /// negative if there is no such field.
    fn chrony_get_field_index(s: *mut chrony_session, name: *const c_char) -> c_int;
    /// `chrony_field_type chrony_get_field_type(chrony_session *s, int field)`.
    fn chrony_get_field_type(s: *mut chrony_session, field: c_int) -> chrony_field_type;
    /// `chrony_field_content chrony_get_field_content(chrony_session *s, int
    /// field)`.
    fn chrony_get_field_content(s: *mut chrony_session, field: c_int) -> chrony_field_content;
    /// `uint64_t chrony_get_field_uinteger(chrony_session *s, int field)`.
    fn chrony_get_field_uinteger(s: *mut chrony_session, field: c_int) -> u64;
    /// `int64_t chrony_get_field_integer(chrony_session *s, int field)`.
    /// libchrony 0.1/0.2 return 16-bit fields without sign extension.
    fn chrony_get_field_integer(s: *mut chrony_session, field: c_int) -> i64;
    /// `double chrony_get_field_float(chrony_session *s, int field)`.
    fn chrony_get_field_float(s: *mut chrony_session, field: c_int) -> f64;
    /// `struct timespec chrony_get_field_timespec(chrony_session *s, int
    /// field)`. libchrony 0.1/0.2 neither treat the 0x7FFFFFFF high word nor
    /// clamp the nanoseconds.
    fn chrony_get_field_timespec(s: *mut chrony_session, field: c_int) -> timespec;
    /// `const char *chrony_get_field_string(chrony_session *s, int field)`:
    /// NULL for an invalid index or a field without a value. In libchrony
    /// 0.1/0.2 the text lives in one static buffer shared by all sessions:
    /// copy it before any other libchrony call, and never call this from two
    /// threads at once.
    fn chrony_get_field_string(s: *mut chrony_session, field: c_int) -> *const c_char;
    /// `const char *chrony_get_field_constant_name(chrony_session *s, int
    /// field, uint64_t value)`: the name of an enum value or flag bit, or
    /// NULL; valid until the session is destroyed.
    fn chrony_get_field_constant_name(s: *mut chrony_session, field: c_int, value: u64) -> *const c_char;
}

impl fmt::Debug for Library {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Library")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Why libchrony could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// No candidate file could be opened.
    NotFound {
        /// Each file tried, with the dynamic loader's reason.
        tried: Vec<(String, String)>,
        /// True when the one candidate came from `LIBCHRONY_PATH`.
        from_env: bool,
    },
    /// A library was opened but lacks a function of `chrony.h`: it is not
    /// libchrony, or an incompatible version.
    MissingSymbol {
        /// The file opened.
        path: String,
        /// The function missing.
        symbol: &'static str,
        /// The dynamic loader's message.
        reason: String,
    },
}

/// What to do when libchrony is missing, as every message says it.
const INSTALL_HINT: &str = "Install libchrony (Fedora, CentOS Stream/RHEL with EPEL: \
     `dnf install libchrony`). Elsewhere build it (https://gitlab.com/chrony/libchrony) and set \
     LIBCHRONY_PATH to the library file, e.g. /usr/local/lib/libchrony.so.0; in a pychrony-rs \
     checkout, scripts/fetch-libchrony.sh fetches one and prints the LIBCHRONY_PATH line to use";

fn build_info() -> String {
    format!(
        "libchrony-sys {} expecting the libchrony {LIBCHRONY_VERSION} API, target {}-{}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH,
        std::env::consts::OS
    )
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NotFound { tried, from_env } => {
                let list = tried
                    .iter()
                    .map(|(name, why)| {
                        if *from_env {
                            format!("{LIBCHRONY_PATH_ENV}={name} ({why})")
                        } else {
                            format!("{name} ({why})")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                write!(f, "cannot load libchrony: tried {list}. ")?;
                if *from_env {
                    write!(
                        f,
                        "Check {LIBCHRONY_PATH_ENV}, or unset it to search for {}. ",
                        DEFAULT_NAMES.join(" and ")
                    )?;
                } else {
                    write!(f, "{LIBCHRONY_PATH_ENV} is not set. ")?;
                }
                write!(f, "{INSTALL_HINT}. ({})", build_info())
            }
            LoadError::MissingSymbol {
                path,
                symbol,
                reason,
            } => write!(
                f,
                "{path} is not a usable libchrony: it lacks {symbol} ({reason}). {INSTALL_HINT}. ({})",
                build_info()
            ),
        }
    }
}

impl std::error::Error for LoadError {}

impl Library {
    /// Loads libchrony: `LIBCHRONY_PATH` if set and not empty, else
    /// `libchrony.so.0`, then `libchrony.so`. Every call opens the library
    /// anew (the dynamic loader shares the mapping); most callers want
    /// [`Library::get`].
    pub fn load() -> Result<Library, LoadError> {
        Self::load_with(std::env::var_os(LIBCHRONY_PATH_ENV))
    }

    /// Loads exactly the library at `path` (a file path, or a bare name for
    /// the loader's search). No environment variable is read.
    pub fn load_from(path: impl AsRef<OsStr>) -> Result<Library, LoadError> {
        Self::open(path.as_ref()).map_err(|why| LoadError::NotFound {
            tried: vec![(path.as_ref().to_string_lossy().into_owned(), why)],
            from_env: false,
        })?
    }

    /// The library, loaded on first use and kept for the life of the
    /// process. A failure is kept too: setting `LIBCHRONY_PATH` afterwards has
    /// no effect in this process.
    pub fn get() -> Result<&'static Library, LoadError> {
        static CACHE: OnceLock<Result<Library, LoadError>> = OnceLock::new();
        CACHE
            .get_or_init(Library::load)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The file this library was loaded from, as given to the loader.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// [`Library::load`] with the value of `LIBCHRONY_PATH` passed in.
    fn load_with(env: Option<OsString>) -> Result<Library, LoadError> {
        let candidates: Vec<OsString> = match env {
            Some(p) if !p.is_empty() => vec![p],
            _ => DEFAULT_NAMES.iter().map(OsString::from).collect(),
        };
        let from_env = candidates.len() == 1;
        let mut tried = Vec::new();
        for name in &candidates {
            match Self::open(name) {
                Ok(found) => return found,
                Err(why) => tried.push((name.to_string_lossy().into_owned(), why)),
            }
        }
        Err(LoadError::NotFound { tried, from_env })
    }

    /// Opens one file: `Err(reason)` when the loader cannot open it,
    /// `Ok(Err(_))` when it opens but lacks a symbol.
    fn open(name: &OsStr) -> Result<Result<Library, LoadError>, String> {
        // SAFETY: opening a library runs its initialisers. libchrony's are the
        // C runtime's defaults; a file that is not libchrony is the user's
        // explicit choice (LIBCHRONY_PATH) or the system's libchrony by name.
        let lib = unsafe { libloading::Library::new(name) }.map_err(|e| loader_reason(&e))?;
        Ok(Self::resolve(lib, name.to_string_lossy().into_owned()))
    }
}

/// libloading wraps dlerror's text in its own words; keep the loader's.
fn loader_reason(e: &libloading::Error) -> String {
    match e {
        libloading::Error::DlOpen { source } => source.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bogus_env_path_is_named_with_the_fix() {
        let err = Library::load_with(Some("/nonexistent/libchrony.so.0".into())).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("LIBCHRONY_PATH=/nonexistent/libchrony.so.0"),
            "{text}"
        );
        assert!(text.contains("dnf install libchrony"), "{text}");
        assert!(text.contains("scripts/fetch-libchrony.sh"), "{text}");
        assert!(matches!(err, LoadError::NotFound { from_env: true, .. }));
    }

    #[test]
    fn load_from_names_the_file() {
        let err = Library::load_from("/nonexistent/libchrony.so").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/nonexistent/libchrony.so ("), "{text}");
        assert!(text.contains("LIBCHRONY_PATH is not set"), "{text}");
    }

    #[test]
    fn an_empty_env_value_means_search_the_defaults() {
        // Whether or not the system has libchrony, both default names are
        // candidates: a failure lists both.
        if let Err(LoadError::NotFound { tried, from_env }) = Library::load_with(Some("".into())) {
            assert!(!from_env);
            let names: Vec<&str> = tried.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, DEFAULT_NAMES);
        }
    }

    #[test]
    fn a_library_without_the_symbols_is_rejected() {
        // libc is always there and is not libchrony.
        let err = Library::load_from("libc.so.6").unwrap_err();
        match &err {
            LoadError::MissingSymbol { symbol, .. } => assert_eq!(*symbol, "chrony_open_socket"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("lacks chrony_open_socket"));
    }

    #[test]
    fn the_table_covers_the_header() {
        assert_eq!(SYMBOLS.len(), 24);
        assert_eq!(SYMBOLS[0], "chrony_open_socket");
        assert!(SYMBOLS.contains(&"chrony_get_field_constant_name"));
    }

    #[test]
    fn loads_the_configured_library_when_there_is_one() {
        // Runs the real resolution when a libchrony is configured (CI sets
        // LIBCHRONY_PATH from scripts/fetch-libchrony.sh).
        let Some(path) = std::env::var_os(LIBCHRONY_PATH_ENV).filter(|p| !p.is_empty()) else {
            return;
        };
        let lib = Library::load_from(&path).unwrap();
        // SAFETY: takes no arguments, returns an int.
        let n = unsafe { (lib.chrony_get_number_supported_reports)() };
        assert!(n >= 9, "{n} reports");
        // SAFETY: index 0 is in range; the result is a static C string.
        let name = unsafe { std::ffi::CStr::from_ptr((lib.chrony_get_report_name)(0)) };
        assert_eq!(name.to_str().unwrap(), "tracking");
        // SAFETY: any chrony_err value is accepted; the result is static.
        let text = unsafe { std::ffi::CStr::from_ptr((lib.chrony_get_error_string)(CHRONY_OK)) };
        assert!(!text.to_bytes().is_empty());
    }
}
