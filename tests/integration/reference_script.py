"""A monitoring script written for pychrony 2.0.3, using only its API.

The integration suite runs it unchanged with the reference and with this
package against the same chronyd and compares the summaries it prints.
"""

import json
import sys

from pychrony import (
    ChronyConnection,
    ChronyConnectionError,
    ChronyDataError,
    ChronyError,
    LeapStatus,
    SourceMode,
    SourceState,
    Transport,
)
from pychrony.testing import make_source, make_tracking


def main(address: str) -> None:
    summary = {}
    with ChronyConnection(address) as conn:
        assert conn.transport in (Transport.UNIX_SOCKET, Transport.COMMAND_PORT)
        tracking = conn.get_tracking()
        summary["synchronized"] = tracking.is_synchronized()
        summary["leap_pending"] = tracking.is_leap_pending()
        summary["leap"] = tracking.leap_status.name
        summary["reference"] = (tracking.reference_id, tracking.reference_id_name)
        sources = conn.get_sources()
        summary["sources"] = sorted(
            (s.address, s.mode.name, s.is_reachable(), s.last_sample_ago == 4294967295)
            for s in sources
            if s.mode in (SourceMode.CLIENT, SourceMode.PEER, SourceMode.REFCLOCK)
        )
        summary["selected"] = sum(1 for s in sources if s.state is SourceState.SELECTED)
        stats = conn.get_source_stats()
        summary["stats"] = sorted((st.reference_id, st.samples > 0) for st in stats)
        summary["rtc"] = conn.get_rtc_data()
    try:
        with ChronyConnection("/nonexistent/chronyd.sock") as conn:
            conn.get_tracking()
    except ChronyConnectionError as exc:
        summary["missing"] = [type(exc).__name__, isinstance(exc, ChronyError)]
    try:
        conn.get_tracking()
    except RuntimeError:
        summary["outside_with"] = True
    summary["factories"] = [
        make_tracking(stratum=3).stratum,
        make_source(address="10.0.0.1").address,
        LeapStatus(0).name,
        issubclass(ChronyDataError, ChronyError),
    ]
    print(json.dumps(summary))


if __name__ == "__main__":
    main(sys.argv[1])
