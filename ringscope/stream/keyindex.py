"""The idempotency index of the event log: one row per logged event key, on disk.

Why SQLite: the index must answer "which of these keys are logged?" for a whole request
in one step, take a batch of new keys atomically together with a checkpoint (how far
into the log it reaches) and an event count, survive ``kill -9`` without repair code of
our own, and let a second process (the worker applying a compaction) write while the
server holds it open. SQLite's WAL mode does all of that from the standard library, with
a bounded page cache, so the server's memory no longer grows with history; an LSM store
(RocksDB, LMDB bindings) would be a new native dependency for the same job, and an
append-only key file would need its own crash repair and its own lookup structure.

``synchronous=NORMAL``: a commit is not ``fsync``'ed by itself. That loses nothing the
log does not have: the segment append is ``fsync``'ed before its keys are committed, and
the keys and checkpoint of one commit are atomic in WAL mode, so after a crash (of the
process or of the machine) the index is a prefix of the log, and
:meth:`.log.EventLog.open` indexes the log again from the checkpoint on.

Lookups take the keys of a request as one JSON array (``json_each``): one query per
request, not one per event, and no bound on the number of SQL variables.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

__all__ = ["Checkpoint", "KeyIndex"]

#: (segment number, byte offset in it, events in the log): segments numbered below the
#: first are fully indexed, that segment up to the offset.
Checkpoint = tuple[int, int, int]

#: WAL pages between checkpoints (64 MiB). Keys arrive in random order, so a request of
#: n new keys dirties about n pages: at SQLite's default of 1,000 pages a request of 500
#: events paid a checkpoint (with its fsync) every second time; this spreads it over
#: about thirty, and pages written again in between are copied back once.
_WAL_PAGES = 16_384

_SCHEMA = """
CREATE TABLE IF NOT EXISTS event_keys (event_key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoint (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    segment INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    events INTEGER NOT NULL,
    compaction INTEGER NOT NULL
);
INSERT OR IGNORE INTO checkpoint VALUES (1, 0, 0, 0, 0);
"""


class KeyIndex:
    """A set of event keys in a SQLite file, with the log checkpoint it reaches.

    Not thread-safe by itself: the log calls it under its own lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(f"PRAGMA wal_autocheckpoint={_WAL_PAGES}")
        self._db.execute("PRAGMA busy_timeout=60000")  # a compaction's short transaction
        self._db.executescript(_SCHEMA)

    def known(self, keys: list[str]) -> set[str]:
        """Those of ``keys`` already in the index (one query)."""
        if not keys:
            return set()
        rows = self._db.execute(
            "SELECT event_key FROM event_keys WHERE event_key IN (SELECT value FROM json_each(?))",
            (orjson.dumps(keys).decode(),),
        )
        return {key for (key,) in rows}

    def add(self, keys: Iterable[str], segment: int, offset: int, events: int) -> None:
        """Add ``keys`` and move the checkpoint to (``segment``, ``offset``), counting
        ``events`` more logged events; one transaction."""
        with self._transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO event_keys VALUES (?)", ((k,) for k in keys)
            )
            self._db.execute(
                "UPDATE checkpoint SET segment = ?, offset = ?, events = events + ?",
                (segment, offset, events),
            )

    def checkpoint(self) -> Checkpoint:
        """Where the index reaches in the log, and how many events the log holds."""
        row = self._db.execute("SELECT segment, offset, events FROM checkpoint").fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def forget_events(self, events: int, compaction: int) -> None:
        """Count ``events`` fewer logged events (the duplicate lines compaction number
        ``compaction`` dropped), once per compaction however often it is applied."""
        with self._transaction():
            self._db.execute(
                "UPDATE checkpoint SET events = events - ?, compaction = ? WHERE compaction < ?",
                (events, compaction, compaction),
            )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()
