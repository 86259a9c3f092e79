"""The snapshot a server answers from, swapped atomically when a newer one is published.

A request takes :attr:`SnapshotHolder.current` once and keeps that reference for its whole
duration, so it never sees two snapshots. A newer snapshot is read completely into a new
:class:`SnapshotView` first, and checked (every table read, then each registered check,
such as the signup route's offender index), and only then assigned to the single
reference (one pointer store, atomic under the interpreter lock): no request ever sees a
half-loaded state, and in-flight requests finish on the old view, which is freed when
the last one lets go.

A snapshot that fails to load or to pass a check is never served: the holder falls back
to the newest one that is valid and remembers why the others were passed over
(:attr:`SnapshotHolder.problems`), which ``/readyz`` and ``/v1/snapshots`` report.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ringscope.api.snapshot_view import SnapshotView, load_view
from ringscope.snapshot import LATEST, list_snapshots

__all__ = ["SnapshotCheck", "SnapshotHolder", "SnapshotProblem"]

log = logging.getLogger(__name__)

#: A check run on a loaded view before it is served: raises when the snapshot must not
#: be served; returns a note when it can be, with a part of the service unavailable.
SnapshotCheck = Callable[[SnapshotView], str | None]


@dataclass(frozen=True)
class SnapshotProblem:
    """Why a snapshot is not served (or serves with a part missing)."""

    snapshot_id: str
    reason: str


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'no detail'}"


class SnapshotHolder:
    """Holds the current :class:`SnapshotView` of a snapshot root and polls ``LATEST``."""

    def __init__(self, root: Path, checks: Sequence[SnapshotCheck] = ()) -> None:
        self.root = Path(root)
        self.checks = list(checks)
        self._current: SnapshotView | None = None
        self._lock = threading.Lock()
        self._failed: dict[str, str] = {}
        self._notes: dict[str, list[str]] = {}
        self._latest: str | None = None

    @property
    def current(self) -> SnapshotView | None:
        """The snapshot to answer from (None until a valid one is loaded)."""
        return self._current

    @property
    def problems(self) -> list[SnapshotProblem]:
        """Snapshots newer than the one served that could not be served, newest first,
        then what the served one lacks; empty when the newest snapshot serves fully."""
        current = self._current.snapshot_id if self._current is not None else ""
        newer = sorted((n for n in self._failed if n > current), reverse=True)
        out = [SnapshotProblem(n, self._failed[n]) for n in newer]
        if self._latest is not None and self._latest > current and self._latest not in newer:
            out.insert(0, SnapshotProblem(self._latest, "LATEST names a missing snapshot"))
        out += [SnapshotProblem(current, note) for note in self._notes.get(current, [])]
        return out

    def problem_of(self, snapshot_id: str) -> str | None:
        """Why ``snapshot_id`` is not served, if it failed to load or check."""
        return self._failed.get(snapshot_id)

    def _candidates(self) -> list[Path]:
        """Snapshots to try, best first: the one ``LATEST`` names, then older ones."""
        pointer = self.root / LATEST
        try:
            self._latest = pointer.read_text().strip() or None
        except OSError:
            self._latest = None
        complete = list(reversed(list_snapshots(self.root)))
        if self._latest is None:
            return complete
        return [p for p in complete if p.name <= self._latest]

    def _load(self, path: Path) -> SnapshotView | None:
        try:
            view = load_view(path)
            notes = [note for check in self.checks if (note := check(view))]
        except Exception as exc:  # any failure to read or check means: never serve it
            self._failed[path.name] = _error_text(exc)
            log.warning("snapshot %s is not valid, not serving it: %s", path.name, exc)
            return None
        self._notes[view.snapshot_id] = notes
        return view

    def refresh(self) -> bool:
        """Serve the newest valid snapshot if it is not served yet; True if swapped.

        Snapshots that fail are remembered (with why) and not tried again.
        """
        with self._lock:
            current = self._current
            for path in self._candidates():
                if current is not None and current.snapshot_id == path.name:
                    return False
                if path.name in self._failed:
                    continue
                view = self._load(path)
                if view is None:
                    continue
                self._current = view
                log.info(
                    "serving snapshot %s (%d clusters)", view.snapshot_id, view.clusters.height
                )
                return True
            return False

    async def poll(self, interval_s: float) -> None:
        """Check for a newer snapshot every ``interval_s`` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            await asyncio.to_thread(self.refresh)
