"""Worker processes that end with their parent, even when it is killed with ``kill -9``.

A killed parent runs no cleanup, so multiprocessing workers would run on (using CPU and
memory for work nobody collects) and keep its resource tracker alive with them. Every
pool ringscope starts passes :func:`die_with_parent` as its worker initializer: on Linux
the kernel sends the worker ``SIGKILL`` when the parent dies (``PR_SET_PDEATHSIG``);
elsewhere a daemon thread watches the parent. Once the last worker is gone the resource
tracker sees its pipe close, removes what the run left in ``/dev/shm`` and exits.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from pathlib import Path

__all__ = ["die_with_parent", "live_group_members", "parent_watch"]

_PR_SET_PDEATHSIG = 1
_WATCH_INTERVAL_S = 0.5


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_WATCH_INTERVAL_S)
    os._exit(1)


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this process as soon as ``parent_pid`` ends.

    Args:
        parent_pid: ``os.getpid()`` of the process that starts the pool (passed in
            ``initargs``, so a parent that died before this ran is noticed too).
    """
    armed = False
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    if not armed:
        threading.Thread(target=_watch, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:
        os._exit(1)


def parent_watch() -> dict[str, object]:
    """``initializer``/``initargs`` keyword arguments for a pool started by this process."""
    return {"initializer": die_with_parent, "initargs": (os.getpid(),)}


def live_group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``, from ``/proc`` (Linux): what
    a killed run left running (tests and the hostile-input bench check it is nothing)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found
