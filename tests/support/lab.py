"""Helpers for tests against the lab's real chronyd instances
(``tests/lab/chronylab.py``; the fixtures are in ``tests/conftest.py``)."""

from __future__ import annotations

import os
import pwd
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import chronylab
from support.prerequisites import unavailable

#: The lab script, to run as a program (``default-ns``) or to pass on.
LAB_SCRIPT = Path(chronylab.__file__).resolve()

#: The client synchronises to the lab's server (stratum 3) or to the GPS
#: reference clock (stratum 0), whichever chronyd selects.
SYNC_STRATA = {1, chronylab.LOCAL_STRATUM + 1}


def check_lab_prerequisites() -> None:
    """What every lab needs: chronyd and chronyc installed, and root."""
    if not chronylab.chronyd_available():
        unavailable("chronyd lab: chronyd/chronyc not installed (apt-get install chrony)")
    if os.geteuid() != 0:
        unavailable("chronyd lab: the lab runs chronyd as root; run the suite as root")


def in_child(body: Callable[[], str], *, user: str | None = None) -> str:
    """Run `body` in a forked child (as `user`, if given: privileges are
    dropped after the fork, since /root is not readable for other users and
    no new interpreter could start) and return what it returned. The child
    never returns into pytest; a failure in it fails the test with its
    traceback."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code, out = 1, ""
        try:
            os.close(read_fd)
            if user is not None:
                entry = pwd.getpwnam(user)
                os.setgroups([])
                os.setresgid(entry.pw_gid, entry.pw_gid, entry.pw_gid)
                os.setresuid(entry.pw_uid, entry.pw_uid, entry.pw_uid)
            out = body()
            code = 0
        except BaseException:
            out = traceback.format_exc()
        finally:
            os.write(write_fd, out.encode())
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        out = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, f"child failed:\n{out}"
    return out


def enter_manual_samples(inst: chronylab.Instance, count: int) -> None:
    """Lab setup (not the library): manual mode on, then ``count`` samples
    with ``chronyc settime``, a second or more apart (chronyd refuses a
    sample too close to the previous one). The instance runs with ``-x``, so
    the system clock is never touched."""
    chronylab.chronyc(inst, "manual", "on")
    for i in range(count):
        shown = time.strftime("%H:%M:%S", time.localtime(time.time() + 1 + i))
        chronylab.chronyc(inst, "settime", shown)
        time.sleep(1.2)
