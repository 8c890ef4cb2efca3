//! NTP_DATA: the last NTP packet exchange with each NTP source (`chronyc
//! ntpdata`).

use super::{Args, Field, FieldList, NamedFields, Record, Shape, Spec};
use crate::error::Result;
use crate::protocol::request::{cmd, rpy, Layout, LibchronyAsk, Request};
use crate::protocol::wire::{IpAddr, Reader, Timespec};

/// The ten test bits of `flags` (`NTPTests`, chronyd's own assignment).
const TEST_BITS: u16 = 0x3FF;
/// `flags`: the last response was interleaved.
const INTERLEAVED: u16 = 0x4000;
/// `flags`: the last response was authenticated.
const AUTHENTICATED: u16 = 0x8000;

/// The reply layouts: NTP_DATA (16, chronyd 3.0–4.5, body 124) and
/// NTP_DATA2 (26, 4.6 and later, body 144: four timestamp counters more).
const LAYOUTS: &[Layout] = &[
    Layout {
        reply: rpy::NTP_DATA,
        len: 124,
    },
    Layout {
        reply: rpy::NTP_DATA2,
        len: 144,
    },
];

/// NTP_DATA (command 57, reply 16 or 26; Unix socket only): one NTP source,
/// asked for by its address (CMDMON.md §4.9). Reference clocks have none.
#[derive(Debug, Clone, PartialEq)]
pub struct NtpData {
    /// libchrony `remote address`; chronyc "Remote address".
    pub remote_address: IpAddr,
    /// libchrony `local address`; UNSPEC until a response arrived; chronyc
    /// "Local address".
    pub local_address: IpAddr,
    /// libchrony `remote port`; chronyc "Remote port".
    pub remote_port: u16,
    /// libchrony `leap status` of the last valid response (0 before one);
    /// chronyc "Leap status".
    pub leap: u8,
    /// libchrony `version`: NTP version (0 before a response); chronyc
    /// "Version".
    pub version: u8,
    /// libchrony `mode`: NTP mode, 1 symmetric active, 2 symmetric passive,
    /// 4 server (0 before a response); chronyc "Mode".
    pub mode: u8,
    /// libchrony `stratum`; chronyc "Stratum".
    pub stratum: u8,
    /// libchrony `poll`, log2 seconds; chronyc "Poll interval".
    pub poll: i8,
    /// libchrony `precision`, log2 seconds; chronyc "Precision".
    pub precision: i8,
    /// libchrony `root delay`, seconds; chronyc "Root delay".
    pub root_delay: f64,
    /// libchrony `root dispersion`, seconds; chronyc "Root dispersion".
    pub root_dispersion: f64,
    /// libchrony `reference ID` (the remote's); chronyc "Reference ID".
    pub ref_id: u32,
    /// libchrony `reference time`; chronyc "Reference time".
    pub ref_time: Timespec,
    /// libchrony `offset`, seconds; chronyc "Offset".
    pub offset: f64,
    /// libchrony `peer delay`, seconds; chronyc "Peer delay".
    pub peer_delay: f64,
    /// libchrony `peer dispersion`, seconds; chronyc "Peer dispersion".
    pub peer_dispersion: f64,
    /// libchrony `response time`, seconds; chronyc "Response time".
    pub response_time: f64,
    /// libchrony `jitter asymmetry`; chronyc "Jitter asymmetry".
    pub jitter_asymmetry: f64,
    /// libchrony `flags`: test bits (low ten, 1 = passed), 0x4000
    /// interleaved, 0x8000 authenticated; chronyc "NTP tests",
    /// "Interleaved", "Authenticated". libchrony 0.2 names bits 0x4 and 0x2
    /// the wrong way round (`testC`, `testB`): the bits are read as chronyd
    /// assigns them, never by libchrony's names.
    pub flags: u16,
    /// libchrony `transmit timestamping`: `D` daemon, `K` kernel, `H`
    /// hardware, 0 before a response; chronyc "TX timestamping".
    pub tx_tss_char: u8,
    /// libchrony `receive timestamping`; chronyc "RX timestamping".
    pub rx_tss_char: u8,
    /// libchrony `transmitted messages`; chronyc "Total TX".
    pub total_tx_count: u32,
    /// libchrony `received messages`; chronyc "Total RX".
    pub total_rx_count: u32,
    /// libchrony `received valid messages`; chronyc "Total valid RX".
    pub total_valid_count: u32,
    /// libchrony `received good messages` (4.3+; earlier 4294967295);
    /// chronyc "Total good RX".
    pub total_good_count: u32,
    /// NTP_DATA2 (4.6+) only: libchrony `kernel transmit timestamps`,
    /// `kernel receive timestamps`, `hardware transmit timestamps`,
    /// `hardware receive timestamps`; chronyc "Total kernel TX" … "Total HW
    /// RX".
    pub timestamp_counts: Option<[u32; 4]>,
}

impl Record for NtpData {
    const SPEC: Spec = Spec {
        name: "ntpdata",
        method: "get_ntp_data",
        dataclass: "NTPData",
        shape: Shape::PerAddress { unresolved: false },
        args: &["address"],
        udp: false,
    };

    /// The request for the source at `args.address()`; libchrony asks by
    /// the source's `index` (it looks the address up itself).
    fn request(index: u32, args: &Args) -> Request {
        Request::new(cmd::NTP_DATA, Self::SPEC.name, LAYOUTS)
            .with_body(&args.address().encode())
            .via_libchrony(LibchronyAsk::Record(c"ntpdata", index))
    }

    fn decode(reply: u16, r: &Reader<'_>) -> Result<Self> {
        let timestamp_counts = if reply == rpy::NTP_DATA2 {
            Some([r.u32(112)?, r.u32(116)?, r.u32(120)?, r.u32(124)?])
        } else {
            None
        };
        Ok(NtpData {
            remote_address: r.ipaddr(0)?,
            local_address: r.ipaddr(20)?,
            remote_port: r.u16(40)?,
            leap: r.u8(42)?,
            version: r.u8(43)?,
            mode: r.u8(44)?,
            stratum: r.u8(45)?,
            poll: r.i8(46)?,
            precision: r.i8(47)?,
            root_delay: r.float(48)?,
            root_dispersion: r.float(52)?,
            ref_id: r.u32(56)?,
            ref_time: r.timespec(60)?,
            offset: r.float(72)?,
            peer_delay: r.float(76)?,
            peer_dispersion: r.float(80)?,
            response_time: r.float(84)?,
            jitter_asymmetry: r.float(88)?,
            flags: r.u16(92)?,
            tx_tss_char: r.u8(94)?,
            rx_tss_char: r.u8(95)?,
            total_tx_count: r.u32(96)?,
            total_rx_count: r.u32(100)?,
            total_valid_count: r.u32(104)?,
            total_good_count: r.u32(108)?,
            timestamp_counts,
        })
    }

    fn from_fields(f: &dyn NamedFields) -> Result<Self> {
        let timestamp_counts = if f.has("kernel transmit timestamps") {
            Some([
                f.u32("kernel transmit timestamps")?,
                f.u32("kernel receive timestamps")?,
                f.u32("hardware transmit timestamps")?,
                f.u32("hardware receive timestamps")?,
            ])
        } else {
            None
        };
        Ok(NtpData {
            remote_address: f.address("remote address")?,
            local_address: f.address("local address")?,
            remote_port: f.u16("remote port")?,
            leap: f.u8("leap status")?,
            version: f.u8("version")?,
            mode: f.u8("mode")?,
            stratum: f.u8("stratum")?,
            poll: f.i8("poll")?,
            precision: f.i8("precision")?,
            root_delay: f.float("root delay")?,
            root_dispersion: f.float("root dispersion")?,
            ref_id: f.u32("reference ID")?,
            ref_time: f.timespec("reference time")?,
            offset: f.float("offset")?,
            peer_delay: f.float("peer delay")?,
            peer_dispersion: f.float("peer dispersion")?,
            response_time: f.float("response time")?,
            jitter_asymmetry: f.float("jitter asymmetry")?,
            flags: f.u16("flags")?,
            tx_tss_char: f.u8("transmit timestamping")?,
            rx_tss_char: f.u8("receive timestamping")?,
            total_tx_count: f.u32("transmitted messages")?,
            total_rx_count: f.u32("received messages")?,
            total_valid_count: f.u32("received valid messages")?,
            total_good_count: f.u32("received good messages")?,
            timestamp_counts,
        })
    }

    fn fields(&self) -> Result<FieldList> {
        let mut f = FieldList::new(Self::SPEC.name);
        f.address("remote_address", self.remote_address)
            .int("remote_port", self.remote_port)
            .address("local_address", self.local_address)
            .member_or_int("leap_status", Field::LEAP_STATUS, self.leap.into())
            .int("version", self.version)
            .member_or_int("mode", Field::NTP_MODE, self.mode.into())
            .int("stratum", self.stratum)
            .int("poll", self.poll)
            .int("precision", self.precision)
            .float("root_delay", self.root_delay)?
            .float("root_dispersion", self.root_dispersion)?
            .int("reference_id", self.ref_id)
            .float("ref_time", self.ref_time.as_f64())?
            .float("offset", self.offset)?
            .float("peer_delay", self.peer_delay)?
            .float("peer_dispersion", self.peer_dispersion)?
            .float("response_time", self.response_time)?
            .float("jitter_asymmetry", self.jitter_asymmetry)?
            .flags("tests", Field::NTP_TESTS, self.flags, TEST_BITS)
            .flag("interleaved", self.flags & INTERLEAVED != 0)
            .flag("authenticated", self.flags & AUTHENTICATED != 0)
            .member_or_char("tx_timestamping", Field::TIMESTAMP_SOURCE, self.tx_tss_char)
            .member_or_char("rx_timestamping", Field::TIMESTAMP_SOURCE, self.rx_tss_char)
            .int("total_tx", self.total_tx_count)
            .int("total_rx", self.total_rx_count)
            .int("total_valid_rx", self.total_valid_count)
            .int("total_good_rx", self.total_good_count);
        let counts = self.timestamp_counts.map(|c| c.map(u64::from));
        for (i, name) in [
            "total_kernel_tx",
            "total_kernel_rx",
            "total_hw_tx",
            "total_hw_rx",
        ]
        .into_iter()
        .enumerate()
        {
            f.count(name, counts.map(|c| c[i]))?;
        }
        Ok(f)
    }
}
