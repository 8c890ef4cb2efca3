"""Report types returned by pychrony: enums and frozen dataclasses.

Each dataclass mirrors one chronyc report. Field meanings and units follow the
chronyc manual (https://chrony-project.org/doc/4.6/chronyc.html), sections
``tracking``, ``sources``, ``sourcestats`` and ``rtcdata``.

The Rust extension builds these objects and checks the values it decodes, so
the classes themselves accept whatever they are given (handy in tests).
"""

# No ``from __future__ import annotations`` here: the dataclass field types must
# be real classes, because callers (and the upstream contract) inspect them.

from dataclasses import dataclass
from enum import Enum
from enum import Flag as _Flag

__all__ = [  # noqa: RUF022 - upstream order, pinned by tests/contract
    "LeapStatus",
    "SourceState",
    "SourceMode",
    "Transport",
    "TrackingStatus",
    "Source",
    "SourceStats",
    "RTCData",
    "_ref_id_to_name",
    # Additions over pychrony 2.0.3:
    "Activity",
    "ServerStats",
    "Smoothing",
    "ManualSample",
    "NTPMode",
    "TimestampSource",
    "NTPTests",
    "NTPData",
    "SelectState",
    "SelectOptions",
    "SelectData",
    "AuthMode",
    "AuthData",
    "ClientAccess",
]


class LeapStatus(Enum):
    """Leap-second state that chronyd reports (``Leap status`` in ``chronyc tracking``).

    Attributes:
        NORMAL: No leap second is announced ("Normal").
        INSERT: A second will be inserted at the end of the current UTC day
            ("Insert second").
        DELETE: A second will be removed at the end of the current UTC day
            ("Delete second").
        UNSYNC: chronyd is not synchronised to any source ("Not synchronised").

    See https://chrony-project.org/doc/4.6/chronyc.html#tracking.
    """

    NORMAL = 0
    INSERT = 1
    DELETE = 2
    UNSYNC = 3


class SourceState(Enum):
    """Selection state of a source (column ``S`` of ``chronyc sources``).

    Attributes:
        SELECTED: ``*``, the source chronyd currently synchronises to.
        NONSELECTABLE: ``?``, unusable for selection (no reply yet, too few
            samples, an invalid measurement, or a ``noselect`` option).
        FALSETICKER: ``x``, its time disagrees with the majority of sources.
        JITTERY: ``~``, its measurements vary too much to be trusted.
        UNSELECTED: ``+``, acceptable and combined with the selected source
            (chronyd's wire name for this state is "unselected").
        SELECTABLE: ``-``, acceptable but left out of the combined estimate.

    See https://chrony-project.org/doc/4.6/chronyc.html#sources.
    """

    SELECTED = 0
    NONSELECTABLE = 1
    FALSETICKER = 2
    JITTERY = 3
    UNSELECTED = 4
    SELECTABLE = 5


class SourceMode(Enum):
    """Kind of a source (column ``M`` of ``chronyc sources``).

    Attributes:
        CLIENT: ``^``, an NTP server chronyd polls as a client.
        PEER: ``=``, a symmetric NTP peer.
        REFCLOCK: ``#``, a locally attached reference clock (GPS, PPS, PHC, SHM...).

    See https://chrony-project.org/doc/4.6/chronyc.html#sources.
    """

    CLIENT = 0
    PEER = 1
    REFCLOCK = 2


class Transport(Enum):
    """Channel a ``ChronyConnection`` uses to talk to chronyd.

    Attributes:
        UNIX_SOCKET: chronyd's local Unix domain socket (usually
            ``/run/chrony/chronyd.sock``); normally open to root and the
            chrony user only, and it accepts every command.
        COMMAND_PORT: chronyd's UDP command port (323 by default) on a host,
            usually 127.0.0.1 or ::1; by default chronyd serves every report
            pychrony reads there (some other monitoring commands, such as
            serverstats and ntpdata, are Unix-socket only).

    See the introduction of https://chrony-project.org/doc/4.6/chronyc.html
    for how chronyc picks between the two.
    """

    UNIX_SOCKET = "unix_socket"
    COMMAND_PORT = "command_port"


@dataclass(frozen=True)
class TrackingStatus:
    """State of the system clock as reported by ``chronyc tracking``.

    Values are those of chronyd's tracking report; see
    https://chrony-project.org/doc/4.6/chronyc.html#tracking for the full
    description of each line.

    Attributes:
        reference_id: Reference ID (32-bit integer) of the source the clock is
            synchronised to; 0 when there is none. For NTP sources it is
            usually the IPv4 address, for reference clocks four ASCII letters.
        reference_id_name: ``reference_id`` made readable: its ASCII letters
            (e.g. ``"GPS"``) when every byte is printable ASCII or NUL
            (trailing NULs dropped), otherwise the dotted-quad form (see
            ``_ref_id_to_name``).
        reference_ip: Address of the selected NTP source as text (IPv4 or
            IPv6); empty when the reference is a reference clock or the local
            reference, or when chronyd is unsynchronised.
        stratum: Distance in hops from a computer with a reference clock
            attached (which has stratum 1); 0 when chronyd is unsynchronised
            (then ``reference_id`` is 0 and ``leap_status`` is UNSYNC).
        leap_status: Leap-second state (``Leap status`` line).
        ref_time: Time of the last measurement processed from the reference
            source (``Ref time``), as seconds since the Unix epoch (UTC).
        offset: Current correction of the system clock (``System time``), in
            seconds. Positive means the system clock is behind true time
            ("slow"), negative that it is ahead ("fast").
        last_offset: Estimated offset of the local clock at the last clock
            update, in seconds (``Last offset``).
        rms_offset: Long-term root-mean-square average of the offset, in
            seconds (``RMS offset``).
        frequency: Rate at which the system clock would drift if chronyd did
            not correct it, in ppm (``Frequency``); positive means fast.
        residual_freq: Difference between the frequency the reference source
            measurements suggest and the one in use, in ppm (``Residual freq``).
        skew: Estimated error bound of ``frequency``, in ppm (``Skew``).
        root_delay: Sum of the network path delays to the stratum-1 computer
            the clock ultimately follows, in seconds (``Root delay``).
        root_dispersion: Dispersion accumulated through all computers back to
            that stratum-1 computer, in seconds (``Root dispersion``).
        update_interval: Interval between the last two clock updates, in
            seconds (``Update interval``).
    """

    reference_id: int
    reference_id_name: str
    reference_ip: str
    stratum: int
    leap_status: LeapStatus
    ref_time: float
    offset: float
    last_offset: float
    rms_offset: float
    frequency: float
    residual_freq: float
    skew: float
    root_delay: float
    root_dispersion: float
    update_interval: float

    def is_synchronized(self) -> bool:
        """Tell whether chronyd is synchronised to a reference.

        Returns:
            True when a reference is set (``reference_id`` not 0) and the
            stratum is below 16.
        """
        return self.reference_id != 0 and self.stratum < 16

    def is_leap_pending(self) -> bool:
        """Tell whether a leap second is announced for the end of the UTC day.

        Returns:
            True when ``leap_status`` is ``LeapStatus.INSERT`` or
            ``LeapStatus.DELETE``.
        """
        return self.leap_status in (LeapStatus.INSERT, LeapStatus.DELETE)


@dataclass(frozen=True)
class Source:
    """One time source, as a line of ``chronyc sources``.

    See https://chrony-project.org/doc/4.6/chronyc.html#sources for the
    columns these fields come from.

    Attributes:
        address: Name or address of the source (column ``Name/IP address``):
            an IPv4/IPv6 address for NTP sources, the reference ID text
            (e.g. ``"GPS"``, ``"PPS0"``) for reference clocks.
        poll: Polling interval as a base-2 logarithm of seconds (column
            ``Poll``): 6 means 64 seconds. Negative for sources polled faster
            than once a second (e.g. ``minpoll -6``), NTP servers as well as
            reference clocks.
        stratum: Stratum of the source (column ``Stratum``).
        state: Selection state (column ``S``).
        mode: Source kind (column ``M``).
        flags: The flags word of chronyd's source report. chrony 4.0 and
            later always send 0; older versions put the selection options
            (noselect, prefer, trust, require) there.
        reachability: Reachability register (column ``Reach``, shown in octal
            by chronyc): one bit per recent poll, set when a valid reply came;
            0 to 255.
        last_sample_ago: Seconds since the last good sample was received from
            the source (column ``LastRx``); chronyd sends 4294967295
            (2**32 - 1) when it has no sample yet.
        orig_latest_meas: Offset between the local clock and the source in the
            last measurement as measured, in seconds (the value in square
            brackets in the ``Last sample`` column).
        latest_meas: Same offset adjusted for the clock corrections made
            since that measurement, in seconds (first value of ``Last sample``).
        latest_meas_err: Error margin of that measurement, in seconds (the
            ``+/-`` value of ``Last sample``).
    """

    address: str
    poll: int
    stratum: int
    state: SourceState
    mode: SourceMode
    flags: int
    reachability: int
    last_sample_ago: int
    orig_latest_meas: float
    latest_meas: float
    latest_meas_err: float

    def is_reachable(self) -> bool:
        """Tell whether any recent poll of the source got a valid reply.

        Returns:
            True when the reachability register is non-zero (``> 0``).
        """
        return self.reachability > 0

    def is_selected(self) -> bool:
        """Tell whether this is the source chronyd synchronises to.

        Returns:
            True when ``state`` is ``SourceState.SELECTED``.
        """
        return self.state is SourceState.SELECTED


@dataclass(frozen=True)
class SourceStats:
    """Drift statistics of one source, as a line of ``chronyc sourcestats``.

    See https://chrony-project.org/doc/4.6/chronyc.html#sourcestats.

    Attributes:
        reference_id: Reference ID (32-bit integer) of the source.
        address: Address of the source as text; for a reference clock, the
            name of its reference ID (e.g. ``"GPS"``), as chronyc prints it,
            so that statistics and sources correlate by address.
        samples: Number of sample points retained for the source (column
            ``NP``).
        runs: Number of runs of residuals with the same sign after the last
            regression (column ``NR``); few runs relative to ``samples``
            suggest a straight line no longer fits the data.
        span: Time between the oldest and newest retained samples, in seconds
            (column ``Span``).
        std_dev: Estimated standard deviation of the samples, in seconds
            (column ``Std Dev``).
        resid_freq: Estimated residual frequency of the source, in ppm
            (column ``Frequency``).
        skew: Estimated error bound of ``resid_freq``, in ppm (column
            ``Freq Skew``).
        offset: Estimated offset of the source, in seconds (column
            ``Offset``).
        offset_err: Estimated error of ``offset``, in seconds (carried in
            chronyd's report, not printed by chronyc).
    """

    reference_id: int
    address: str
    samples: int
    runs: int
    span: int
    std_dev: float
    resid_freq: float
    skew: float
    offset: float
    offset_err: float

    def has_sufficient_samples(self, minimum: int = 4) -> bool:
        """Tell whether enough samples are retained to trust the statistics.

        Args:
            minimum: Smallest acceptable number of samples (default 4).

        Returns:
            True when ``samples >= minimum``.
        """
        return self.samples >= minimum


@dataclass(frozen=True)
class RTCData:
    """State of the hardware real-time clock, as reported by ``chronyc rtcdata``.

    chronyd only has this report when it tracks the RTC (``rtcfile``
    directive and a readable RTC). See
    https://chrony-project.org/doc/4.6/chronyc.html#rtcdata.

    Attributes:
        ref_time: Time of the last RTC measurement used for the model
            (``RTC ref time``), as seconds since the Unix epoch (UTC).
        samples: Number of measurements the RTC model currently uses
            (``Number of samples``); 0 until the RTC has been measured.
        runs: Number of runs of residuals with the same sign in the RTC
            regression (``Number of runs``).
        span: Time covered by the measurements, in seconds (``Sample span
            period``).
        offset: Estimated amount by which the RTC is fast (negative: slow) at
            ``ref_time``, in seconds (``RTC is fast by``).
        freq_offset: Time the RTC gains (positive) or loses (negative) per
            second, in ppm (``RTC gains time at``).
    """

    ref_time: float
    samples: int
    runs: int
    span: int
    offset: float
    freq_offset: float

    def is_calibrated(self) -> bool:
        """Tell whether chronyd has measured the RTC at all.

        Returns:
            True when at least one sample is in use (``samples > 0``).
        """
        return self.samples > 0


@dataclass(frozen=True)
class Activity:
    """Counts of chronyd's sources by activity, as reported by ``chronyc activity``.

    Online, offline, bursting or unresolved: the five counts are chronyc's five lines, in order. See
    https://chrony-project.org/doc/4.6/chronyc.html#activity.

    Attributes:
        online: Sources that are online (``sources online``): chronyd polls
            them.
        offline: Sources that are offline (``sources offline``), e.g. after
            ``chronyc offline`` or with the ``offline`` option.
        burst_online: Sources doing a burst that return to online afterwards
            (``sources doing burst (return to online)``).
        burst_offline: Sources doing a burst that return to offline
            afterwards (``sources doing burst (return to offline)``).
        unresolved: Sources whose name is not resolved to an address yet
            (``sources with unknown address``); chronyd lists them as
            ``ID#…`` addresses.
    """

    online: int
    offline: int
    burst_online: int
    burst_offline: int
    unresolved: int


@dataclass(frozen=True)
class ServerStats:
    """What chronyd served as a server, as reported by ``chronyc serverstats``.

    Counters since chronyd started, in chronyc's order (its lines and its
    ``-c`` columns). Each is None when the server's reply does not carry it:
    chronyd 2.3-3.5 have no NTS-KE or authentication counters, 4.0-4.1 none
    for interleaving and held timestamps, before 4.4 none for the
    timestamps served. chronyd serves this report on its Unix socket only
    (over UDP: ``ChronyUnauthorizedError``). See
    https://chrony-project.org/doc/4.6/chronyc.html#serverstats.

    Attributes:
        ntp_packets_received: NTP requests received (``NTP packets received``).
        ntp_packets_dropped: NTP requests dropped by rate limiting
            (``NTP packets dropped``).
        command_packets_received: Command requests received, on the Unix
            socket too (``Command packets received``).
        command_packets_dropped: Command requests dropped by rate limiting
            (``Command packets dropped``).
        client_log_records_dropped: Client log records dropped for lack of
            memory (``Client log records dropped``).
        nts_ke_connections_accepted: NTS-KE connections accepted
            (``NTS-KE connections accepted``; chronyd 4.0+).
        nts_ke_connections_dropped: NTS-KE connections dropped by rate
            limiting (``NTS-KE connections dropped``; 4.0+).
        authenticated_ntp_packets: NTP requests authenticated with a key or
            NTS (``Authenticated NTP packets``; 4.0+).
        interleaved_ntp_packets: NTP requests in interleaved mode
            (``Interleaved NTP packets``; 4.2+).
        ntp_timestamps_held: Server timestamps held for interleaved mode
            (``NTP timestamps held``; 4.2+).
        ntp_timestamp_span: Seconds spanned by the held timestamps
            (``NTP timestamp span``; 4.2+).
        ntp_daemon_rx_timestamps: Receive timestamps taken by chronyd
            (``NTP daemon RX timestamps``; 4.4+).
        ntp_daemon_tx_timestamps: Transmit timestamps taken by chronyd
            (``NTP daemon TX timestamps``; 4.4+).
        ntp_kernel_rx_timestamps: Receive timestamps from the kernel
            (``NTP kernel RX timestamps``; 4.4+).
        ntp_kernel_tx_timestamps: Transmit timestamps from the kernel
            (``NTP kernel TX timestamps``; 4.4+).
        ntp_hardware_rx_timestamps: Receive timestamps from the network card
            (``NTP hardware RX timestamps``; 4.4+).
        ntp_hardware_tx_timestamps: Transmit timestamps from the network
            card (``NTP hardware TX timestamps``; 4.4+).
    """

    ntp_packets_received: int | None
    ntp_packets_dropped: int | None
    command_packets_received: int | None
    command_packets_dropped: int | None
    client_log_records_dropped: int | None
    nts_ke_connections_accepted: int | None
    nts_ke_connections_dropped: int | None
    authenticated_ntp_packets: int | None
    interleaved_ntp_packets: int | None
    ntp_timestamps_held: int | None
    ntp_timestamp_span: int | None
    ntp_daemon_rx_timestamps: int | None
    ntp_daemon_tx_timestamps: int | None
    ntp_kernel_rx_timestamps: int | None
    ntp_kernel_tx_timestamps: int | None
    ntp_hardware_rx_timestamps: int | None
    ntp_hardware_tx_timestamps: int | None


@dataclass(frozen=True)
class Smoothing:
    """The state of time smoothing, as reported by ``chronyc smoothing``.

    chronyd smooths the time it serves to NTP clients only with a
    ``smoothtime`` directive; without one ``ChronyConnection.get_smoothing``
    returns None. See https://chrony-project.org/doc/4.6/chronyc.html#smoothing
    and the ``smoothtime`` directive in chrony.conf(5).

    Attributes:
        active: Smoothing is in progress (``Active``).
        leap_only: Only leap seconds are smoothed (``smoothtime ...
            leaponly``; chronyc's ``(leap second only)``).
        offset: Offset in seconds between the served (smoothed) time and
            chronyd's own (``Offset``).
        frequency: Frequency offset of the smoothing, in ppm (``Frequency``).
        wander: Frequency wander of the smoothing, in ppm per second
            (``Wander``).
        last_update_ago: Seconds since the smoothing was last updated
            (``Last update``).
        remaining_time: Seconds until the smoothing ends, offset and
            frequency reaching zero (``Remaining time``).
    """

    active: bool
    leap_only: bool
    offset: float
    frequency: float
    wander: float
    last_update_ago: float
    remaining_time: float


@dataclass(frozen=True)
class ManualSample:
    """One sample entered with ``chronyc settime``, as ``chronyc manual list`` shows it.

    chronyd keeps up to 16 samples while manual mode is on (``manual``
    directive or ``chronyc manual on``). See
    https://chrony-project.org/doc/4.6/chronyc.html#manual.

    Attributes:
        when: When the sample was entered, in seconds since the Unix epoch
            (``Date Time(UTC)``).
        slewed_offset: The sample's offset in seconds, corrected for how
            the clock was slewed since (``Slewed``).
        orig_offset: The offset in seconds as entered (``Original``).
        residual: The sample's residual from the regression through all
            samples, in seconds (``Residual``).
    """

    when: float
    slewed_offset: float
    orig_offset: float
    residual: float


class NTPMode(Enum):
    """NTP mode of a source's last response (``Mode`` in ``chronyc ntpdata``).

    ``NTPData.mode`` holds a member, or the plain int for any other value: 0
    before the source answered (chronyc prints "Invalid"), or a mode a newer
    chronyd reports.

    Attributes:
        ACTIVE_SYMMETRIC: 1, a symmetric peer that polls us.
        PASSIVE_SYMMETRIC: 2, a symmetric peer answering our polls.
        SERVER: 4, a server answering our client requests.

    See https://chrony-project.org/doc/4.6/chronyc.html#ntpdata.
    """

    ACTIVE_SYMMETRIC = 1
    PASSIVE_SYMMETRIC = 2
    SERVER = 4


class TimestampSource(Enum):
    """Where a timestamp of the last NTP exchange was taken (``TX/RX timestamping``).

    The value is chronyd's character, as ``chronyc ntpdata`` reports it.
    ``NTPData`` holds a member, or the plain one-character ``str`` for any
    other character: the NUL character before the source answered (chronyc
    prints "Invalid"), or a kind a newer chronyd reports.

    Attributes:
        DAEMON: ``"D"``, taken by chronyd itself.
        KERNEL: ``"K"``, taken by the kernel.
        HARDWARE: ``"H"``, taken by the network interface.
    """

    DAEMON = "D"
    KERNEL = "K"
    HARDWARE = "H"


class NTPTests(_Flag):
    """The tests of RFC 5905 and chronyd that the last response passed.

    ``NTP tests`` in ``chronyc ntpdata`` prints them as three groups of bits (1,
    2, 3; 5, 6, 7; A, B, C, D). A set member means the test passed. chronyd's
    own bit assignment is used (libchrony 0.2 names bits 0x4 and 0x2 the wrong
    way round). Bits this version does not know (a newer chronyd's) are dropped,
    so reading never fails on them; the interleaved and authenticated bits are
    ``NTPData.interleaved`` and ``NTPData.authenticated``.

    Attributes:
        TEST1: Not a duplicate packet.
        TEST2: Not a bogus packet (it answers our last request).
        TEST3: Not a replay of an old packet (synchronised timestamps).
        TEST5: Authentication passed (or was not used).
        TEST6: The server is synchronised (leap, stratum, reference time).
        TEST7: Root delay and dispersion within the limits.
        TESTA: The delay is within ``maxdelay``.
        TESTB: The delay ratio is within ``maxdelayratio``.
        TESTC: The delay deviation is within ``maxdelaydevratio`` (or the
            delay within its quantile).
        TESTD: The server is not synchronised to us (no synchronisation
            loop).
    """

    TEST1 = 0x200
    TEST2 = 0x100
    TEST3 = 0x80
    TEST5 = 0x40
    TEST6 = 0x20
    TEST7 = 0x10
    TESTA = 0x8
    TESTB = 0x4
    TESTC = 0x2
    TESTD = 0x1


@dataclass(frozen=True)
class NTPData:
    """The last NTP exchange with one NTP source, as ``chronyc ntpdata`` shows it.

    chronyd serves this report on its Unix socket only. Reference clocks
    have none. A source that never answered has leap 0, version 0, mode 0,
    NUL timestamp characters and an empty ``local_address``. See
    https://chrony-project.org/doc/4.6/chronyc.html#ntpdata.

    Attributes:
        remote_address: The source's address (``Remote address``).
        remote_port: The port requests go to (``Remote port``).
        local_address: The local address the last response came to, ``''``
            before one (``Local address``).
        leap_status: Leap indicator of the last valid response (``Leap
            status``; a plain int for an unknown value).
        version: NTP version of the response (``Version``).
        mode: NTP mode of the response (``Mode``; a plain int when not one
            of ``NTPMode``, e.g. 0 before a response).
        stratum: Stratum of the source (``Stratum``).
        poll: Poll interval, log2 seconds (``Poll interval``).
        precision: Precision of the source's clock, log2 seconds
            (``Precision``).
        root_delay: Root delay in seconds (``Root delay``).
        root_dispersion: Root dispersion in seconds (``Root dispersion``).
        reference_id: The source's reference ID (``Reference ID``).
        ref_time: The source's reference time, seconds since the Unix epoch
            (``Reference time``).
        offset: Offset of the last measurement in seconds (``Offset``).
        peer_delay: Delay of the last measurement in seconds (``Peer
            delay``).
        peer_dispersion: Dispersion of the last measurement in seconds
            (``Peer dispersion``).
        response_time: How long the server took to answer, in seconds
            (``Response time``).
        jitter_asymmetry: Estimated asymmetry of the jitter, -0.5 to 0.5
            (``Jitter asymmetry``).
        tests: The tests the last response passed (``NTP tests``).
        interleaved: The last response was in interleaved mode
            (``Interleaved``).
        authenticated: The last response was authenticated
            (``Authenticated``).
        tx_timestamping: Where the transmit timestamp was taken (``TX
            timestamping``).
        rx_timestamping: Where the receive timestamp was taken (``RX
            timestamping``).
        total_tx: Requests sent (``Total TX``).
        total_rx: Responses received (``Total RX``).
        total_valid_rx: Valid responses received (``Total valid RX``).
        total_good_rx: Responses that passed every test (``Total good RX``;
            4294967295 from chronyd before 4.3).
        total_kernel_tx: Kernel transmit timestamps (``Total kernel TX``;
            None from chronyd before 4.6).
        total_kernel_rx: Kernel receive timestamps (``Total kernel RX``;
            None before 4.6).
        total_hw_tx: Hardware transmit timestamps (``Total HW TX``; None
            before 4.6).
        total_hw_rx: Hardware receive timestamps (``Total HW RX``; None
            before 4.6).
    """

    remote_address: str
    remote_port: int
    local_address: str
    leap_status: LeapStatus | int
    version: int
    mode: NTPMode | int
    stratum: int
    poll: int
    precision: int
    root_delay: float
    root_dispersion: float
    reference_id: int
    ref_time: float
    offset: float
    peer_delay: float
    peer_dispersion: float
    response_time: float
    jitter_asymmetry: float
    tests: NTPTests
    interleaved: bool
    authenticated: bool
    tx_timestamping: TimestampSource | str
    rx_timestamping: TimestampSource | str
    total_tx: int
    total_rx: int
    total_valid_rx: int
    total_good_rx: int
    total_kernel_tx: int | None
    total_kernel_rx: int | None
    total_hw_tx: int | None
    total_hw_rx: int | None


class SelectState(Enum):
    """How chronyd's source selection treats a source (``chronyc selectdata``).

    The value is chronyc's letter in column ``S``. ``SelectData.state`` holds a
    member, or the plain one-character ``str`` for a letter a newer chronyd
    reports.

    Attributes:
        NOSELECT: ``N``, not selectable: it has the ``noselect`` option.
        UNSYNCHRONISED: ``s``, not selectable: the source is not
            synchronised.
        MISSING_SAMPLES: ``M``, not selectable: too few samples.
        UNACCEPTABLE_DISTANCE: ``d``, not selectable: its distance exceeds
            ``maxdistance``.
        LARGE_DISTANCE: ``D``, selectable, but its distance is large
            compared with the best source's (``combinelimit``).
        JITTERY: ``~``, not selectable: its jitter exceeds ``maxjitter``.
        WAITS_FOR_OTHERS: ``w``, not selectable: waits for other sources.
        WAITS_FOR_SOURCES: ``W``, selectable, but waits for more
            selectable sources (``minsources``).
        STALE: ``S``, not selectable: its samples are stale (unreachable).
        ORPHAN: ``O``, not selectable: an orphan source (``local
            orphan``).
        NOT_TRUSTED: ``T``, not selectable: it disagrees with the sources
            that have the ``trust`` option.
        FALSETICKER: ``x``, not selectable: a falseticker.
        STRATUM_OUT_OF_RANGE: ``r``, not selectable: its stratum is outside
            ``minstratum``/``maxstratum`` (chronyd 4.9 and later).
        NOT_PREFERRED: ``P``, selectable, but not preferred (another source
            has the ``prefer`` option).
        WAITS_FOR_UPDATE: ``U``, selectable, but waits for a new sample.
        OUTLIER: ``L``, selectable, but an outlier (chronyd defines it).
        COMBINED: ``+``, combined with the best source.
        BEST: ``*``, the best source, to which chronyd synchronises.

    See https://chrony-project.org/doc/4.6/chronyc.html#selectdata.
    """

    NOSELECT = "N"
    UNSYNCHRONISED = "s"
    MISSING_SAMPLES = "M"
    UNACCEPTABLE_DISTANCE = "d"
    LARGE_DISTANCE = "D"
    JITTERY = "~"
    WAITS_FOR_OTHERS = "w"
    WAITS_FOR_SOURCES = "W"
    STALE = "S"
    ORPHAN = "O"
    NOT_TRUSTED = "T"
    FALSETICKER = "x"
    STRATUM_OUT_OF_RANGE = "r"
    NOT_PREFERRED = "P"
    WAITS_FOR_UPDATE = "U"
    OUTLIER = "L"
    COMBINED = "+"
    BEST = "*"


class SelectOptions(_Flag):
    """Selection options of a source (``COpts``/``EOpts`` of ``chronyc selectdata``).

    chronyc shows them as ``N``, ``P``, ``T``, ``R``. Bits this version does not
    know (a newer chronyd's) are dropped, so reading never fails on them.

    Attributes:
        NOSELECT: ``noselect``, never selected.
        PREFER: ``prefer``, preferred over sources without it.
        TRUST: ``trust``, assumed to be correct.
        REQUIRE: ``require``, must be selectable for any to be selected.
    """

    NOSELECT = 0x1
    PREFER = 0x2
    TRUST = 0x4
    REQUIRE = 0x8


@dataclass(frozen=True)
class SelectData:
    """One source as chronyd's source selection sees it (``chronyc selectdata -a``).

    chronyd serves this report on its Unix socket only. Every source is
    listed, reference clocks and unresolved sources included. See
    https://chrony-project.org/doc/4.6/chronyc.html#selectdata.

    Attributes:
        reference_id: The source's reference ID.
        address: The source's address, or a reference clock's name, as
            ``Source.address`` holds it (``Name/IP Address``).
        state: Its selection state (``S``; a plain one-character ``str``
            for an unknown letter).
        authentication: Authentication is enabled for it (``Auth``).
        leap_status: Its leap status (``Leap``; a plain int for an unknown
            value).
        configured_options: The options it was configured with (``COpts``).
        effective_options: The options in effect, after ``authselectmode``
            (``EOpts``).
        last_sample_ago: Seconds since its last sample, 0 when it has none
            (``Last``).
        score: Its score in the selection of the best source (``Score``).
        low_limit: Low end of its offset interval in seconds
            (``Interval``).
        high_limit: High end of its offset interval in seconds
            (``Interval``).
    """

    reference_id: int
    address: str
    state: SelectState | str
    authentication: bool
    leap_status: LeapStatus | int
    configured_options: SelectOptions
    effective_options: SelectOptions
    last_sample_ago: int
    score: float
    low_limit: float
    high_limit: float


class AuthMode(Enum):
    """How a source is authenticated (``Mode`` of ``chronyc authdata``).

    ``AuthData.mode`` holds a member, or the plain int for a mode a newer
    chronyd reports.

    Attributes:
        NONE: 0, not authenticated (``-``).
        SYMMETRIC: 1, a symmetric key (``SK``; the ``key`` option).
        NTS: 2, Network Time Security (``NTS``; the ``nts`` option).
    """

    NONE = 0
    SYMMETRIC = 1
    NTS = 2


@dataclass(frozen=True)
class AuthData:
    """Authentication of one NTP source, as ``chronyc authdata -a`` shows it.

    chronyd serves this report on its Unix socket only. Reference clocks
    have none. See https://chrony-project.org/doc/4.6/chronyc.html#authdata.

    Attributes:
        address: The source's address, as ``Source.address`` holds it
            (``Name/IP address``).
        mode: How it is authenticated (``Mode``; a plain int for an
            unknown mode).
        key_type: The key's algorithm (``Type``), by chronyc's names: for a
            symmetric key 1 MD5, 2 SHA1, 3 SHA256, 4 SHA384, 5 SHA512, 6
            SHA3-224, 7 SHA3-256, 8 SHA3-384, 9 SHA3-512, 10 TIGER, 11
            WHIRLPOOL, 13 AES128, 14 AES256 (CMAC); for NTS the AEAD
            algorithm, 15 AES-SIV-CMAC-256, 16 AES-SIV-CMAC-384, 17
            AES-SIV-CMAC-512, 30 AES-128-GCM-SIV, 31 AES-256-GCM-SIV; 0 for
            none.
        key_id: The symmetric key's ID (``KeyID``; NTS: the key context).
        key_length: The key's length in bits (``KLen``).
        last_ke_ago: Seconds since the last NTS key establishment,
            4294967295 for never (or not NTS) (``Last``).
        ke_attempts: NTS key establishment attempts since the last success
            (``Atmp``).
        nak: An NTS NAK was received (``NAK``).
        cookies: NTS cookies held (``Cook``).
        cookie_length: Length of the cookies in bytes (``CLen``).
    """

    address: str
    mode: AuthMode | int
    key_type: int
    key_id: int
    key_length: int
    last_ke_ago: int
    ke_attempts: int
    nak: bool
    cookies: int
    cookie_length: int


@dataclass(frozen=True)
class ClientAccess:
    """One client chronyd has served, as ``chronyc clients`` shows it.

    ``chronyc clients -k`` shows the NTS-KE columns. chronyd serves this report
    on its Unix socket only; requests on its Unix socket are not counted per
    client. Intervals are log2 seconds, 127 when unknown; ``last_*_ago`` are
    4294967295 when the client never used that service. See
    https://chrony-project.org/doc/4.6/chronyc.html#clients.

    Attributes:
        address: The client's address (``Hostname``).
        ntp_hits: NTP requests received (``NTP``).
        ntp_drops: NTP requests dropped by rate limiting (``Drop``).
        ntp_interval: Average interval of its NTP requests (``Int``).
        ntp_interval_limit: Average interval of its NTP requests while rate
            limited (``IntL``).
        last_ntp_hit_ago: Seconds since its last NTP request (``Last``).
        cmd_hits: Command requests received (``Cmd``).
        cmd_drops: Command requests dropped (``Drop``).
        cmd_interval: Average interval of its command requests (``Int``).
        last_cmd_hit_ago: Seconds since its last command request (``Last``).
        nke_hits: NTS-KE connections accepted (``NTS-KE``, with ``-k``).
        nke_drops: NTS-KE connections dropped (``Drop``, with ``-k``).
        nke_interval: Average interval of its NTS-KE connections (``Int``,
            with ``-k``).
        last_nke_hit_ago: Seconds since its last NTS-KE connection
            (``Last``, with ``-k``).
    """

    address: str
    ntp_hits: int
    ntp_drops: int
    ntp_interval: int
    ntp_interval_limit: int
    last_ntp_hit_ago: int
    cmd_hits: int
    cmd_drops: int
    cmd_interval: int
    last_cmd_hit_ago: int
    nke_hits: int
    nke_drops: int
    nke_interval: int
    last_nke_hit_ago: int


def _ref_id_to_name(ref_id: int) -> str:
    """Turn a 32-bit reference ID into readable text.

    The ID is split into four bytes, most significant first. If each byte is
    NUL or printable ASCII (32 to 126), the bytes are read as ASCII and
    trailing NULs dropped (``0x47505300`` gives ``"GPS"``, 0 gives ``""``).
    Otherwise the ID is shown as a dotted quad (``0x7F000001`` gives
    ``"127.0.0.1"``).

    Args:
        ref_id: Reference ID, 0 to 2**32 - 1.

    Returns:
        The text form of the ID.

    Raises:
        OverflowError: ``ref_id`` is negative or does not fit in 32 bits.
    """
    raw = ref_id.to_bytes(4, "big")
    if all(byte == 0 or 32 <= byte <= 126 for byte in raw):
        return raw.rstrip(b"\0").decode("ascii")
    return ".".join(str(byte) for byte in raw)
