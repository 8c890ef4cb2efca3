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
