//! Primitive encodings of the command protocol (CMDMON.md §3): big-endian
//! integers, chrony's 32-bit float, Timespec, IPAddr and reference IDs.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Result};

/// Decodes chrony's 32-bit float: a 7-bit two's-complement exponent `e` and a
/// 25-bit two's-complement coefficient `c`, value `c × 2^(e − 25)`.
/// Exact in `f64`; never normalised, so no hidden bit.
#[must_use]
pub fn decode_float(word: u32) -> f64 {
    let mut exp = i32::try_from(word >> 25).unwrap_or(0);
    if exp >= 64 {
        exp -= 128;
    }
    let mut coef = i32::try_from(word & 0x01FF_FFFF).unwrap_or(0);
    if coef >= 1 << 24 {
        coef -= 1 << 25;
    }
    // 2^(exp - 25), from -89 to 38: a normal f64 built from its exponent
    // bits (exact, as `powi` is, without its loop).
    let scale = f64::from_bits(u64::from((exp - 25 + 1023).unsigned_abs()) << 52);
    f64::from(coef) * scale
}

/// Encodes a value as chronyd does, for the crate's own tests (the
/// integration tests have their own encoder): zero below 1e-100 or NaN,
/// saturating above the largest magnitude.
#[cfg(test)]
#[must_use]
pub(crate) fn encode_float(x: f64) -> u32 {
    const COEF_BITS: i32 = 25;
    if x.is_nan() || x.abs() < 1e-100 {
        return 0;
    }
    let neg = x < 0.0;
    let ax = x.abs();
    let mut exp = (ax.log2() + 1.0) as i32;
    let mut coef = (ax * 2f64.powi(COEF_BITS - exp)).round() as i64;
    let limit = if neg { 1i64 << 24 } else { (1i64 << 24) - 1 };
    while coef > limit {
        coef >>= 1;
        exp += 1;
    }
    if exp > 63 {
        exp = 63;
        coef = limit;
    } else if exp < -64 {
        let shift = -64 - exp;
        coef = if shift >= 64 { 0 } else { coef >> shift };
        exp = -64;
    }
    if neg {
        coef = -coef;
    }
    ((exp as u32 & 0x7F) << 25) | (coef as u32 & 0x01FF_FFFF)
}

/// The marker chronyd puts in a Timespec's high word when it has a 32-bit
/// `time_t`: the high part is then zero.
pub const TIME_T_32_MARKER: u32 = 0x7FFF_FFFF;

/// A Timespec as sent by chronyd (CMDMON.md §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timespec {
    /// Seconds since the Unix epoch (UTC).
    pub secs: u64,
    /// Nanoseconds, clamped to 999 999 999 as chronyd does.
    pub nanos: u32,
}

impl Timespec {
    /// Decodes the three big-endian words `sec_high`, `sec_low`, `nsec`.
    #[must_use]
    pub fn from_words(high: u32, low: u32, nsec: u32) -> Self {
        let high = if high == TIME_T_32_MARKER { 0 } else { high };
        Timespec {
            secs: (u64::from(high) << 32) | u64::from(low),
            nanos: nsec.min(999_999_999),
        }
    }

    /// Seconds as a float, as chronyc and pychrony show them.
    #[must_use]
    pub fn as_f64(self) -> f64 {
        self.secs as f64 + f64::from(self.nanos) * 1e-9
    }

    /// True for the all-zero "no time" value.
    #[must_use]
    pub fn is_zero(self) -> bool {
        self.secs == 0 && self.nanos == 0
    }
}

/// An IPAddr (CMDMON.md §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpAddr {
    /// Family 0, or any unknown family: no address.
    #[default]
    Unspec,
    /// Family 1.
    V4(Ipv4Addr),
    /// Family 2.
    V6(Ipv6Addr),
    /// Family 3: an NTP source whose name is not resolved yet, with its id.
    Id(u32),
}

impl IpAddr {
    /// Decodes the 20-byte IPAddr. Unknown families count as UNSPEC, as in
    /// chronyd.
    #[must_use]
    pub fn decode(bytes: &[u8; 20]) -> Self {
        let family = u16::from_be_bytes([bytes[16], bytes[17]]);
        let first4 = [bytes[0], bytes[1], bytes[2], bytes[3]];
        match family {
            1 => IpAddr::V4(Ipv4Addr::from(first4)),
            2 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&bytes[..16]);
                IpAddr::V6(Ipv6Addr::from(a))
            }
            3 => IpAddr::Id(u32::from_be_bytes(first4)),
            _ => IpAddr::Unspec,
        }
    }

    /// Encodes the 20-byte IPAddr (request bodies name sources by address).
    #[must_use]
    pub fn encode(&self) -> [u8; 20] {
        let mut out = [0u8; 20];
        let family: u16 = match self {
            IpAddr::Unspec => 0,
            IpAddr::V4(a) => {
                out[..4].copy_from_slice(&a.octets());
                1
            }
            IpAddr::V6(a) => {
                out[..16].copy_from_slice(&a.octets());
                2
            }
            IpAddr::Id(id) => {
                out[..4].copy_from_slice(&id.to_be_bytes());
                3
            }
        };
        out[16..18].copy_from_slice(&family.to_be_bytes());
        out
    }

    /// Parses the text [`IpAddr`]'s `Display` gives for a source (what
    /// chronyc -n prints): a dotted quad, an IPv6 address, or `ID#` and
    /// decimal digits for an unresolved source. `None` for anything else.
    #[must_use]
    pub fn parse(text: &str) -> Option<IpAddr> {
        if let Some(id) = text.strip_prefix("ID#") {
            return if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                id.parse().ok().map(IpAddr::Id)
            } else {
                None
            };
        }
        if let Ok(a) = text.parse::<Ipv4Addr>() {
            return Some(IpAddr::V4(a));
        }
        text.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    }

    /// True for UNSPEC.
    #[must_use]
    pub fn is_unspec(&self) -> bool {
        matches!(self, IpAddr::Unspec)
    }

    /// What `Display` writes, as a `String`: for IPv4 and UNSPEC (most
    /// records) without the formatting machinery.
    #[must_use]
    pub fn text(&self) -> String {
        match self {
            IpAddr::Unspec => String::new(),
            IpAddr::V4(a) => dotted_quad(*a).as_str().to_owned(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for IpAddr {
    /// As chronyc -n prints it: dotted quad, RFC 5952 IPv6, `ID#` and ten
    /// digits for an unresolved source, empty for UNSPEC.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpAddr::Unspec => Ok(()),
            IpAddr::V4(a) => f.write_str(dotted_quad(*a).as_str()),
            IpAddr::V6(a) => write!(f, "{a}"),
            IpAddr::Id(id) => write!(f, "ID#{id:010}"),
        }
    }
}

/// An IPv4 address as a dotted quad, in a buffer on the stack: what
/// `Ipv4Addr`'s `Display` writes, for a tenth of its cost (every per-source
/// record formats its address).
fn dotted_quad(a: Ipv4Addr) -> Quad {
    let mut q = Quad {
        buf: [0; 15],
        len: 0,
    };
    for (i, octet) in a.octets().into_iter().enumerate() {
        if i > 0 {
            q.push(b'.');
        }
        if octet >= 100 {
            q.push(b'0' + octet / 100);
        }
        if octet >= 10 {
            q.push(b'0' + octet / 10 % 10);
        }
        q.push(b'0' + octet % 10);
    }
    q
}

/// The text of [`dotted_quad`]: at most 15 ASCII bytes.
struct Quad {
    buf: [u8; 15],
    len: usize,
}

impl Quad {
    fn push(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits and dots are pushed.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

/// A reference ID's name by pychrony's rule: the four bytes (most
/// significant first) as ASCII with trailing NULs removed when every byte is
/// NUL or printable (32–126); otherwise the dotted quad. `0x47505300` gives
/// `GPS`, `0x7F000001` gives `127.0.0.1`.
#[must_use]
pub fn refid_name(refid: u32) -> String {
    let bytes = refid.to_be_bytes();
    if bytes.iter().all(|&b| b == 0 || (32..=126).contains(&b)) {
        let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        bytes[..end].iter().map(|&b| char::from(b)).collect()
    } else {
        dotted_quad(Ipv4Addr::from(bytes)).as_str().to_owned()
    }
}

/// A reference ID's name by chronyc's rule: printable ASCII bytes kept, the
/// others dropped (`0x7F7F0101` gives the empty string).
#[must_use]
pub fn refid_name_chronyc(refid: u32) -> String {
    refid
        .to_be_bytes()
        .iter()
        .filter(|b| (32..=126).contains(*b))
        .map(|&b| char::from(b))
        .collect()
}

/// A bounds-checked big-endian reader over a reply body. Every read past the
/// end is a data error naming the report and the offset, never a panic.
pub struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, the body of a `what` reply (named in errors).
    #[must_use]
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, what }
    }

    fn bytes<const N: usize>(&self, off: usize) -> Result<[u8; N]> {
        off.checked_add(N)
            .and_then(|end| self.buf.get(off..end))
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| self.truncated(off, N))
    }

    /// The `len` bytes at `off`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when the body is too short (a truncated reply).
    pub fn bytes_at(&self, off: usize, len: usize) -> Result<&'a [u8]> {
        off.checked_add(len)
            .and_then(|end| self.buf.get(off..end))
            .ok_or_else(|| self.truncated(off, len))
    }

    fn truncated(&self, off: usize, len: usize) -> Error {
        Error::invalid_reply(format!(
            "{} reply from chronyd is truncated: needs bytes {}..{} of its body, got {}",
            self.what,
            off,
            off.saturating_add(len),
            self.buf.len()
        ))
    }

    /// An unsigned 8-bit value at `off`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when the body is too short (a truncated reply).
    pub fn u8(&self, off: usize) -> Result<u8> {
        self.bytes::<1>(off).map(|[b]| b)
    }

    /// A signed 8-bit value at `off`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when the body is too short (a truncated reply).
    pub fn i8(&self, off: usize) -> Result<i8> {
        self.bytes::<1>(off).map(i8::from_be_bytes)
    }

    /// An unsigned 16-bit value at `off`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when the body is too short (a truncated reply).
    pub fn u16(&self, off: usize) -> Result<u16> {
        self.bytes::<2>(off).map(u16::from_be_bytes)
    }

    /// A signed 16-bit value at `off`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when the body is too short (a truncated reply).
    pub fn i16(&self, off: usize) -> Result<i16> {
        self.bytes::<2>(off).map(i16::from_be_bytes)
    }

    /// An unsigned 32-bit value at `off`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when the body is too short (a truncated reply).
    pub fn u32(&self, off: usize) -> Result<u32> {
        self.bytes::<4>(off).map(u32::from_be_bytes)
    }

    /// A signed 32-bit value at `off`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when the body is too short (a truncated reply).
    pub fn i32(&self, off: usize) -> Result<i32> {
        self.bytes::<4>(off).map(i32::from_be_bytes)
    }

    /// An Integer64 (two big-endian 32-bit words, high first) at `off`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when the body is too short (a truncated reply).
    pub fn u64(&self, off: usize) -> Result<u64> {
        Ok((u64::from(self.u32(off)?) << 32) | u64::from(self.u32(off + 4)?))
    }

    /// A chrony float at `off`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when the body is too short (a truncated reply).
    pub fn float(&self, off: usize) -> Result<f64> {
        self.u32(off).map(decode_float)
    }

    /// A timespec (12 bytes) at `off`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when the body is too short (a truncated reply).
    pub fn timespec(&self, off: usize) -> Result<Timespec> {
        Ok(Timespec::from_words(
            self.u32(off)?,
            self.u32(off + 4)?,
            self.u32(off + 8)?,
        ))
    }

    /// An address (20 bytes) at `off`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when the body is too short (a truncated reply).
    pub fn ipaddr(&self, off: usize) -> Result<IpAddr> {
        self.bytes::<20>(off).map(|b| IpAddr::decode(&b))
    }
}

#[cfg(test)]
// chrony's float decodes exactly into f64, so tests compare exactly.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn dotted_quads_as_std_writes_them() {
        let samples = [0u32, 1, 9, 10, 99, 100, 255, 0x7F01_0096, u32::MAX];
        for bits in samples
            .into_iter()
            .chain((0..=255).map(|b| b * 0x0101_0101))
        {
            let a = Ipv4Addr::from(bits);
            assert_eq!(IpAddr::V4(a).to_string(), a.to_string());
            assert_eq!(IpAddr::V4(a).text(), a.to_string());
        }
        for ip in [
            IpAddr::Unspec,
            IpAddr::Id(7),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ] {
            assert_eq!(ip.text(), ip.to_string());
        }
    }

    #[test]
    fn every_exponent_decodes_as_a_power_of_two() {
        for exp in 0u32..128 {
            let e = if exp >= 64 {
                exp as i32 - 128
            } else {
                exp as i32
            };
            for coef in [1u32, 0x0100_0000, 0x01FF_FFFF, 0x0080_0001, 12345] {
                let c = if coef >= 1 << 24 {
                    coef as i32 - (1 << 25)
                } else {
                    coef as i32
                };
                let want = f64::from(c) * 2f64.powi(e - 25);
                assert_eq!(decode_float((exp << 25) | coef), want, "{exp} {coef:#x}");
            }
        }
    }

    #[test]
    fn worked_float_examples() {
        assert_eq!(decode_float(0x0000_0000), 0.0);
        assert_eq!(decode_float(0x0480_0000), 1.0);
        assert_eq!(decode_float(0x0300_0000), -1.0);
        assert_eq!(decode_float(0x18FA_0000), 2000.0);
        assert_eq!(decode_float(0x0880_0000), 4.0);
        let v = decode_float(0xCB6C_FB7B);
        assert_eq!(v, -9_634_949.0 * 2f64.powi(-52));
        assert!((v - -2.1394e-9).abs() < 1e-13);
        assert!((decode_float(0x00FE_E68A) - 0.497_853).abs() < 1e-6);
    }

    #[test]
    fn float_round_trip() {
        for x in [1.0, -1.0, 2000.0, 0.5, -2.1394e-9, 123.456, 1e-20, -7.25e12] {
            let y = decode_float(encode_float(x));
            assert!((y - x).abs() <= x.abs() * 1.2e-7, "{x} -> {y}");
        }
        assert_eq!(encode_float(0.0), 0);
        assert_eq!(encode_float(f64::NAN), 0);
        assert_eq!(encode_float(1.0), 0x0480_0000);
        assert_eq!(encode_float(-1.0), 0x0300_0000);
        assert!(decode_float(encode_float(1e30)) > 4e18);
    }

    #[test]
    fn timespec_marker_and_clamp() {
        let t = Timespec::from_words(TIME_T_32_MARKER, 1_700_000_000, 2_000_000_000);
        assert_eq!(t.secs, 1_700_000_000);
        assert_eq!(t.nanos, 999_999_999);
        let t = Timespec::from_words(1, 0, 500_000_000);
        assert_eq!(t.secs, 1 << 32);
        assert!((t.as_f64() - 4_294_967_296.5).abs() < 1e-6);
        assert!(Timespec::from_words(0, 0, 0).is_zero());
    }

    #[test]
    fn ipaddr_families() {
        let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(IpAddr::decode(&v4.encode()), v4);
        assert_eq!(v4.to_string(), "192.0.2.1");
        let v6 = IpAddr::V6("2001:db8::1".parse().unwrap());
        assert_eq!(IpAddr::decode(&v6.encode()), v6);
        assert_eq!(v6.to_string(), "2001:db8::1");
        let id = IpAddr::Id(1);
        assert_eq!(IpAddr::decode(&id.encode()), id);
        assert_eq!(id.to_string(), "ID#0000000001");
        let mut unknown = [0u8; 20];
        unknown[17] = 9;
        assert_eq!(IpAddr::decode(&unknown), IpAddr::Unspec);
        assert_eq!(IpAddr::Unspec.to_string(), "");
    }

    #[test]
    fn refid_names() {
        assert_eq!(refid_name(0x4750_5300), "GPS");
        assert_eq!(refid_name(0x5348_4D30), "SHM0");
        assert_eq!(refid_name(0x7F00_0001), "127.0.0.1");
        assert_eq!(refid_name(0x7F7F_0101), "127.127.1.1");
        assert_eq!(refid_name(0), "");
        assert_eq!(refid_name(0x0A00_FF09), "10.0.255.9");
        assert_eq!(refid_name_chronyc(0x7F7F_0101), "");
        assert_eq!(refid_name_chronyc(0x4750_5300), "GPS");
    }

    #[test]
    fn reader_is_bounds_checked() {
        let r = Reader::new(&[0, 1, 0xFF, 0xFA], "test");
        assert_eq!(r.u16(0).unwrap(), 1);
        assert_eq!(r.i16(2).unwrap(), -6);
        assert!(r.u32(1).is_err());
        assert!(r.ipaddr(0).is_err());
        assert!(r.u16(usize::MAX - 1).is_err());
    }
}
