"""The snapshot a server answers from, swapped atomically when a newer one is published.

A request takes :attr:`SnapshotHolder.current` once and keeps that reference for its whole
duration, so it never sees two snapshots. A newer snapshot is read completely into a new
:class:`SnapshotView` first and only then assigned to the single reference (one pointer
store, atomic under the interpreter lock): no request ever sees a half-loaded state, and
in-flight requests finish on the old view, which is freed when the last one lets go.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import polars as pl

from ringscope.api.snapshot_view import SnapshotView, load_view
from ringscope.errors import RingscopeError
from ringscope.snapshot import latest_snapshot

__all__ = ["SnapshotHolder"]

log = logging.getLogger(__name__)


class SnapshotHolder:
    """Holds the current :class:`SnapshotView` of a snapshot root and polls ``LATEST``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._current: SnapshotView | None = None
        self._lock = threading.Lock()
        self._failed: str | None = None

    @property
    def current(self) -> SnapshotView | None:
        """The snapshot to answer from (None until one is loaded)."""
        return self._current

    def refresh(self) -> bool:
        """Load and swap in the snapshot ``LATEST`` names if it is new; True if swapped.

        A snapshot that fails to load is logged once and skipped; the previous one keeps
        serving.
        """
        with self._lock:
            latest = latest_snapshot(self.root)
            if latest is None:
                return False
            current = self._current
            if current is not None and current.snapshot_id == latest.name:
                return False
            if latest.name == self._failed:
                return False
            try:
                view = load_view(latest)
            except (RingscopeError, OSError, ValueError, pl.exceptions.PolarsError) as exc:
                self._failed = latest.name
                log.warning("cannot load snapshot %s, keeping the current one: %s", latest, exc)
                return False
            self._current = view
            log.info("serving snapshot %s (%d clusters)", view.snapshot_id, view.clusters.height)
            return True

    async def poll(self, interval_s: float) -> None:
        """Check for a newer snapshot every ``interval_s`` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            await asyncio.to_thread(self.refresh)
