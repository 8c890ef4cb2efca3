//! Reading the record libchrony last accepted: the field accessor, the
//! field map of each report (libchrony's names, CMDMON.md §6) and the
//! conversions that correct libchrony 0.1/0.2's values.

use std::ffi::{c_int, CStr, CString};

use libchrony_sys as raw;

use super::session::Session;
use crate::error::{DataFailure, Error, Result};
use crate::gate::{ProcessGuard, ProcessLock};
use crate::protocol::wire::{IpAddr, Timespec};
use crate::reports::NamedFields;

/// libchrony 0.1/0.2 format address fields into one static buffer shared by
/// every session: field reads of all sessions take this lock, and so does
/// every call that may format one inside libchrony ([`string_lock`]).
static FIELD_LOCK: ProcessLock = ProcessLock::new();

/// The lock of libchrony's shared string buffer, for the calls that write
/// it besides field reads: asking for an ntpdata or authdata record and
/// processing a reply (libchrony then formats the SOURCESTATS record's
/// address, to see whether it is a reference clock, before it sends the
/// request for that address). Not to be taken while a [`Fields`] is alive.
pub(super) fn string_lock() -> ProcessGuard<'static> {
    FIELD_LOCK.lock()
}

/// Restores the sign of the sources `poll` field, which libchrony 0.1/0.2
/// return as the unsigned 16-bit wire value (65530 for −6). Values already
/// negative (a fixed libchrony) pass unchanged; anything outside the 16-bit
/// range is not a poll value.
#[must_use]
pub fn poll_from_libchrony(value: i64) -> Option<i16> {
    if (i64::from(i16::MIN)..=i64::from(u16::MAX)).contains(&value) {
        Some(value as u16 as i16)
    } else {
        None
    }
}

/// Applies chronyd's Timespec rules that libchrony 0.1/0.2 skip: a high word
/// of 0x7FFFFFFF marks a server with 32-bit `time_t` (high part zero), and
/// nanoseconds are clamped to 999 999 999.
#[must_use]
pub fn timespec_from_libchrony(ts: raw::timespec) -> Timespec {
    // libchrony builds tv_sec as `high << 32 | low`; reinterpreting the bits
    // gives the two wire words back. A 32-bit `long` kept only the low word.
    // (`c_long` is i64 here but i32 on 32-bit targets: the conversion is
    // needed there.)
    #[allow(clippy::useless_conversion)]
    let secs = i64::from(ts.tv_sec) as u64;
    let high = if std::mem::size_of_val(&ts.tv_sec) < 8 {
        0
    } else {
        (secs >> 32) as u32
    };
    let nanos = u32::try_from(ts.tv_nsec).unwrap_or(if ts.tv_nsec < 0 { 0 } else { u32::MAX });
    Timespec::from_words(high, secs as u32, nanos)
}

/// Parses libchrony's text for an address field back into an [`IpAddr`]:
/// no text (UNSPEC) and `?` (an unknown family) are UNSPEC, `ID#nnnnnnnnnn`
/// is an unresolved source, otherwise an IPv4 or IPv6 address. `None` for
/// anything else.
#[must_use]
pub fn address_from_libchrony(text: Option<&str>) -> Option<IpAddr> {
    let Some(text) = text else {
        return Some(IpAddr::Unspec);
    };
    if text == "?" {
        return Some(IpAddr::Unspec);
    }
    IpAddr::parse(text)
}

/// The fields of the record libchrony last accepted, read by name. Holds
/// the process-wide field lock (see [`FIELD_LOCK`]).
pub(super) struct Fields<'a> {
    session: &'a Session,
    report: &'static str,
    _guard: ProcessGuard<'static>,
}

impl<'a> Fields<'a> {
    /// The fields of `session`'s last record of `report`; waits for the
    /// field lock.
    pub(super) fn new(session: &'a Session, report: &'static str) -> Self {
        Fields {
            session,
            report,
            _guard: FIELD_LOCK.lock(),
        }
    }

    fn lib(&self) -> &'static raw::Library {
        self.session.lib
    }

    fn ptr(&self) -> *mut raw::chrony_session {
        self.session.ptr.as_ptr()
    }

    /// The index of the field `name`: libchrony's exact lookup, then a
    /// case-insensitive match (early libchrony capitalised its names).
    fn find(&self, name: &str) -> Option<c_int> {
        let c_name = CString::new(name).ok()?;
        // SAFETY: the session is live; c_name is NUL-terminated and outlives
        // the call.
        let index = unsafe { (self.lib().chrony_get_field_index)(self.ptr(), c_name.as_ptr()) };
        if index >= 0 {
            return Some(index);
        }
        // SAFETY: the session is live.
        let n = unsafe { (self.lib().chrony_get_record_number_fields)(self.ptr()) };
        (0..n).find(|&i| {
            // SAFETY: the session is live; `i` is in range; the result is NULL
            // or a NUL-terminated name valid while the session lives.
            let p = unsafe { (self.lib().chrony_get_field_name)(self.ptr(), i) };
            // SAFETY: checked non-null; NUL-terminated (see above).
            !p.is_null()
                && unsafe { CStr::from_ptr(p) }
                    .to_bytes()
                    .eq_ignore_ascii_case(name.as_bytes())
        })
    }

    fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// The index of `name`, which must have libchrony type `want`.
    fn field(&self, name: &str, want: raw::chrony_field_type) -> Result<c_int> {
        let incompatible = |detail: String| {
            Error::Library {
            message: format!(
                "libchrony ({}) returned a {} record {detail}; this backend reads the field names and \
                 types of libchrony 0.1/0.2",
                self.lib().path(),
                self.report
            ),
            code: None,
        }
        };
        let index = self
            .find(name)
            .ok_or_else(|| incompatible(format!("without a field named {name:?}")))?;
        // SAFETY: the session is live; an index out of range gives TYPE_NONE.
        let got = unsafe { (self.lib().chrony_get_field_type)(self.ptr(), index) };
        if got == want {
            Ok(index)
        } else {
            Err(incompatible(format!(
                "whose field {name:?} has type {got} where {want} was expected"
            )))
        }
    }

    fn uint(&self, name: &str) -> Result<u64> {
        let index = self.field(name, raw::CHRONY_TYPE_UINTEGER)?;
        // SAFETY: the session is live and `index` a valid field.
        Ok(unsafe { (self.lib().chrony_get_field_uinteger)(self.ptr(), index) })
    }

    fn out_of_range(&self, name: &str, value: impl std::fmt::Display) -> Error {
        Error::data(
            DataFailure::InvalidValue,
            format!(
                "libchrony returned an invalid {} value: {name} = {value} (out of the field's range)",
                self.report
            ),
        )
    }

    fn u8(&self, name: &str) -> Result<u8> {
        let v = self.uint(name)?;
        u8::try_from(v).map_err(|_| self.out_of_range(name, v))
    }

    /// A signed 8-bit field (ntpdata `poll`, `precision`: libchrony 0.2
    /// sign-extends these, unlike its 16-bit ones).
    fn i8(&self, name: &str) -> Result<i8> {
        let index = self.field(name, raw::CHRONY_TYPE_INTEGER)?;
        // SAFETY: the session is live and `index` a valid field.
        let v = unsafe { (self.lib().chrony_get_field_integer)(self.ptr(), index) };
        i8::try_from(v).map_err(|_| self.out_of_range(name, v))
    }

    fn u16(&self, name: &str) -> Result<u16> {
        let v = self.uint(name)?;
        u16::try_from(v).map_err(|_| self.out_of_range(name, v))
    }

    fn u32(&self, name: &str) -> Result<u32> {
        let v = self.uint(name)?;
        u32::try_from(v).map_err(|_| self.out_of_range(name, v))
    }

    /// A signed 32-bit wire field. libchrony 0.2 declares some of them
    /// unsigned (ACTIVITY's counts): their 32 bits are chronyd's signed
    /// value, read back as such.
    fn i32(&self, name: &str) -> Result<i32> {
        if self.field(name, raw::CHRONY_TYPE_UINTEGER).is_ok() {
            let v = self.u32(name)?;
            return Ok(i32::from_be_bytes(v.to_be_bytes()));
        }
        let index = self.field(name, raw::CHRONY_TYPE_INTEGER)?;
        // SAFETY: the session is live and `index` a valid field.
        let v = unsafe { (self.lib().chrony_get_field_integer)(self.ptr(), index) };
        i32::try_from(v).map_err(|_| self.out_of_range(name, v))
    }

    fn poll(&self, name: &str) -> Result<i16> {
        let index = self.field(name, raw::CHRONY_TYPE_INTEGER)?;
        // SAFETY: the session is live and `index` a valid field.
        let v = unsafe { (self.lib().chrony_get_field_integer)(self.ptr(), index) };
        poll_from_libchrony(v).ok_or_else(|| self.out_of_range(name, v))
    }

    fn float(&self, name: &str) -> Result<f64> {
        let index = self.field(name, raw::CHRONY_TYPE_FLOAT)?;
        // SAFETY: the session is live and `index` a valid field.
        Ok(unsafe { (self.lib().chrony_get_field_float)(self.ptr(), index) })
    }

    fn timespec(&self, name: &str) -> Result<Timespec> {
        let index = self.field(name, raw::CHRONY_TYPE_TIMESPEC)?;
        // SAFETY: the session is live and `index` a valid field; the struct
        // is returned by value.
        let ts = unsafe { (self.lib().chrony_get_field_timespec)(self.ptr(), index) };
        Ok(timespec_from_libchrony(ts))
    }

    fn address(&self, name: &str) -> Result<IpAddr> {
        let index = self.field(name, raw::CHRONY_TYPE_STRING)?;
        // SAFETY: the session is live and `index` a valid field. The result
        // is NULL or a NUL-terminated string in libchrony's static buffer,
        // copied below before any other libchrony call; FIELD_LOCK (held by
        // self) keeps other sessions from overwriting it meanwhile.
        let p = unsafe { (self.lib().chrony_get_field_string)(self.ptr(), index) };
        let text = if p.is_null() {
            None
        } else {
            // SAFETY: non-null and NUL-terminated (see above).
            Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        };
        address_from_libchrony(text.as_deref())
            .ok_or_else(|| self.out_of_range(name, format!("{:?}", text.unwrap_or_default())))
    }
}

impl NamedFields for Fields<'_> {
    fn has(&self, name: &str) -> bool {
        Fields::has(self, name)
    }
    fn u8(&self, name: &str) -> Result<u8> {
        Fields::u8(self, name)
    }
    fn i8(&self, name: &str) -> Result<i8> {
        Fields::i8(self, name)
    }
    fn u16(&self, name: &str) -> Result<u16> {
        Fields::u16(self, name)
    }
    fn u32(&self, name: &str) -> Result<u32> {
        Fields::u32(self, name)
    }
    fn u64(&self, name: &str) -> Result<u64> {
        self.uint(name)
    }
    fn i32(&self, name: &str) -> Result<i32> {
        Fields::i32(self, name)
    }
    fn poll(&self, name: &str) -> Result<i16> {
        Fields::poll(self, name)
    }
    fn float(&self, name: &str) -> Result<f64> {
        Fields::float(self, name)
    }
    fn timespec(&self, name: &str) -> Result<Timespec> {
        Fields::timespec(self, name)
    }
    fn address(&self, name: &str) -> Result<IpAddr> {
        Fields::address(self, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn poll_is_sign_extended() {
        // libchrony 0.2 gives 65530 for a poll of -6 (INT16 without sign
        // extension); a fixed libchrony would give -6.
        assert_eq!(poll_from_libchrony(65530), Some(-6));
        assert_eq!(poll_from_libchrony(65535), Some(-1));
        assert_eq!(poll_from_libchrony(32768), Some(i16::MIN));
        assert_eq!(poll_from_libchrony(-6), Some(-6));
        assert_eq!(poll_from_libchrony(6), Some(6));
        assert_eq!(poll_from_libchrony(0), Some(0));
        assert_eq!(poll_from_libchrony(65536), None);
        assert_eq!(poll_from_libchrony(-32769), None);
    }

    #[test]
    fn timespec_marker_and_nanosecond_clamp() {
        // libchrony 0.2 returns (0x7FFFFFFF << 32 | low) for a 32-bit time_t
        // server, and nanoseconds as sent.
        let ts = raw::timespec {
            tv_sec: ((0x7FFF_FFFFu64 << 32) | 0x6553_F100) as libc::c_long,
            tv_nsec: 1_500_000_000,
        };
        let t = timespec_from_libchrony(ts);
        assert_eq!(t.secs, 0x6553_F100);
        assert_eq!(t.nanos, 999_999_999);
        // Ordinary values pass unchanged, including times past 2106.
        let ts = raw::timespec {
            tv_sec: (1u64 << 32 | 5) as libc::c_long,
            tv_nsec: 123,
        };
        let t = timespec_from_libchrony(ts);
        assert_eq!((t.secs, t.nanos), ((1 << 32) + 5, 123));
        assert!(timespec_from_libchrony(raw::timespec::default()).is_zero());
    }

    #[test]
    fn addresses_parse_back() {
        assert_eq!(address_from_libchrony(None), Some(IpAddr::Unspec));
        assert_eq!(address_from_libchrony(Some("?")), Some(IpAddr::Unspec));
        assert_eq!(
            address_from_libchrony(Some("192.0.2.1")),
            Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
        );
        assert_eq!(
            address_from_libchrony(Some("2001:db8::1")),
            Some(IpAddr::V6("2001:db8::1".parse().unwrap()))
        );
        assert_eq!(
            address_from_libchrony(Some("::ffff:192.0.2.1")),
            Some(IpAddr::V6("::ffff:192.0.2.1".parse().unwrap()))
        );
        assert_eq!(
            address_from_libchrony(Some("ID#0000000001")),
            Some(IpAddr::Id(1))
        );
        assert_eq!(
            address_from_libchrony(Some("ID#4294967295")),
            Some(IpAddr::Id(u32::MAX))
        );
        for bad in ["", "ID#", "ID#x", "ID#4294967296", "ID#+1", "host", "1.2.3"] {
            assert_eq!(address_from_libchrony(Some(bad)), None, "{bad:?}");
        }
    }
}
