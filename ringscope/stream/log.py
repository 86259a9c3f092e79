"""The durable event log of the ingest service: fsync'ed, append-only JSON Lines segments.

Layout under the snapshot root::

    ROOT/stream/active/seg-<n>.jsonl   the segment being appended to (one at a time)
    ROOT/stream/log/seg-<n>.jsonl      sealed segments: complete, never written again
    ROOT/stream/rejects.jsonl          posted records that failed the input contract
    ROOT/stream/keys.sqlite            the idempotency index (:mod:`.keyindex`)

Every accepted event is one canonical JSON line (:func:`check.canonical_line`). An
append writes the new lines with one ``write`` on an ``O_APPEND`` descriptor and
``fsync`` s before returning, so an acknowledged event is on disk. A process killed in
the middle of an append can leave a torn last line: :meth:`EventLog.open` cuts the
active segment back to its last newline (those events were never acknowledged).
Lines that reached the disk without their acknowledgement are kept; the client's
retry is then a duplicate, and duplicates are dropped by key: the ``event_id``, or
the content hash when there is none.

**The keys live on disk**, not in the server's memory: an append looks the keys of its
request up in the index in one query, and after the segment's ``fsync`` commits the new
keys together with a checkpoint (segment number, byte offset, events logged). Segments
are numbered in order and the checkpoint always names the active one once an append or
a seal returns, so segments numbered below it are fully indexed. A crash after the
``fsync`` and before the commit leaves lines past the checkpoint: :meth:`EventLog.open`
indexes the log from the checkpoint on (only that tail is read) before taking appends,
so those lines are keyed and a retry of them is a duplicate. A root without an index
(made before it existed) is indexed once, from the start. Compaction merges only sealed
segments (numbered below the checkpoint) and drops only lines whose key an earlier line
has, so the set of keys stays the same; it lowers the event count of the checkpoint by
the lines it dropped, once (:func:`ringscope.stream.compact.finish_compaction`).

Sealing (:meth:`EventLog.seal`) renames the active segment into ``log/`` (atomic), so
a micro-batch reads a fixed set of complete files while appends go on into a new one.

One process at a time owns a stream root: :meth:`EventLog.open` takes an exclusive
``flock`` on ``ROOT/stream/lock`` (and writes its pid and command there), held until
:meth:`EventLog.close` or the process ends, however it ends; ``ringscope compact``
takes the same lock (:func:`lock_stream`), so it refuses to run beside a server and a
server refuses to start on a root being compacted. Opening also finishes (or discards)
a compaction a crash interrupted (:func:`ringscope.stream.compact.finish_compaction`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import polars as pl

from ringscope.errors import RingscopeError
from ringscope.stream.check import CheckedEvents, event_key
from ringscope.stream.keyindex import KeyIndex

__all__ = [
    "AppendResult",
    "EventLog",
    "StreamLocked",
    "key_index_path",
    "keyed_chunks",
    "lock_stream",
    "sealed_segments",
    "stream_dirs",
]

log = logging.getLogger(__name__)

_SEGMENT_GLOB = "seg-*.jsonl"
_CHUNK_BYTES = 4 * 1024 * 1024  # read this much of a segment at a time when indexing


def stream_dirs(root: Path) -> tuple[Path, Path]:
    """(active, sealed) segment folders of a snapshot root."""
    base = Path(root) / "stream"
    return base / "active", base / "log"


def key_index_path(root: Path) -> Path:
    """The idempotency index of a stream root."""
    return Path(root) / "stream" / "keys.sqlite"


def keyed_chunks(path: Path, start: int = 0) -> Iterator[tuple[list[bytes], list[str], int]]:
    """(lines, their keys, byte offset after them) of ``path`` from ``start``, a few MiB
    at a time, so a segment of any size is read in bounded memory."""
    with open(path, "rb") as fh:
        fh.seek(start)
        offset, rest = start, b""
        while block := fh.read(_CHUNK_BYTES):
            data = rest + block
            cut = data.rfind(b"\n") + 1
            data, rest = data[:cut], data[cut:]
            offset += cut
            lines = [line for line in data.split(b"\n") if line]
            if lines:
                yield lines, [event_key(orjson.loads(x), x) for x in lines], offset


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _segment_number(path: Path) -> int:
    return int(path.stem.removeprefix("seg-"))


def sealed_segments(root: Path) -> list[Path]:
    """The sealed segments of a stream root, oldest first."""
    return sorted(stream_dirs(root)[1].glob(_SEGMENT_GLOB), key=_segment_number)


class StreamLocked(RingscopeError):
    """Another process (a server, or a compaction) owns the stream root."""


def lock_stream(root: Path, command: str) -> int:
    """Take the exclusive lock of a stream root; its file descriptor (close it to release).

    Raises :class:`StreamLocked` naming the process that holds it. The lock is an
    ``flock``: the kernel drops it when its holder ends, even on ``kill -9``.
    """
    path = Path(root) / "stream" / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        try:
            holder = orjson.loads(path.read_bytes())
            who = f"process {holder['pid']} ({holder['command']})"
        except (OSError, ValueError, KeyError, TypeError):
            who = "another process"
        raise StreamLocked(
            f"stream root {Path(root)} is in use by {who}; stop it first (the lock is {path})"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, orjson.dumps({"pid": os.getpid(), "command": command}), 0)
    return fd


def _repair(path: Path) -> None:
    """Cut a torn last line (a killed append) off a segment, durably."""
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return
    with open(path, "r+b") as fh:
        fh.truncate(data.rfind(b"\n") + 1)
        fh.flush()
        os.fsync(fh.fileno())


@dataclass(frozen=True)
class AppendResult:
    """What one append stored: new events, and those already logged (dropped)."""

    stored: int
    duplicates: int


class EventLog:
    """Append-only, fsync'ed segments with an idempotency index (see the module doc)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.active_dir, self.sealed_dir = stream_dirs(self.root)
        self.rejects_path = self.root / "stream" / "rejects.jsonl"
        self._lock = threading.Lock()
        self._index: KeyIndex | None = None
        self._behind = False  # an index commit failed: index the active tail again first
        self._fd: int | None = None
        self._active: Path | None = None
        self._active_lines = 0
        self._active_bytes = 0
        #: events in the whole log (sealed and active)
        self.total = 0
        #: events in sealed segments
        self.sealed_total = 0
        #: monotonic time of the first append to the active segment (None when empty)
        self.oldest_unsealed: float | None = None
        self.rejected_total = 0
        #: events the last open found past the index checkpoint and indexed
        self.tail_indexed = 0
        self._root_lock: int | None = None

    def open(self, command: str = "ringscope serve --ingest") -> EventLog:
        """Lock the root, finish an interrupted compaction, create the folders, repair
        the active segment and bring the key index up to the end of the log."""
        from ringscope.stream.compact import finish_compaction

        self._root_lock = lock_stream(self.root, command)
        try:
            finish_compaction(self.root)
            return self._open()
        except BaseException:
            if self._index is not None:
                self._index.close()
                self._index = None
            os.close(self._root_lock)
            self._root_lock = None
            raise

    def _open(self) -> EventLog:
        self.active_dir.mkdir(parents=True, exist_ok=True)
        self.sealed_dir.mkdir(parents=True, exist_ok=True)
        sealed = sealed_segments(self.root)
        active = sorted(self.active_dir.glob(_SEGMENT_GLOB), key=_segment_number)
        for path in active:
            _repair(path)
        self._index = KeyIndex(key_index_path(self.root))
        self.tail_indexed = self._catch_up(sealed + active)
        if self.tail_indexed:
            log.info("indexed %d logged events past the key index checkpoint", self.tail_indexed)
        self.total = self._index.checkpoint()[2]
        if self.rejects_path.exists():
            _repair(self.rejects_path)
            with open(self.rejects_path, "rb") as fh:
                self.rejected_total = sum(1 for _ in fh)
        numbers = [_segment_number(p) for p in sealed + active]
        if active:  # older active segments (a crash between two seals) are sealed now
            for path in active[:-1]:
                self._seal_file(path)
            self._open_active(active[-1])
        else:
            self._open_active(self.active_dir / f"seg-{max(numbers, default=0) + 1:08d}.jsonl")
        self.sealed_total = self.total - self._active_lines
        return self

    def _catch_up(self, segments: list[Path]) -> int:
        """Index the lines of ``segments`` (in order) past the checkpoint; how many."""
        assert self._index is not None
        segment, offset, _ = self._index.checkpoint()
        indexed = 0
        for path in segments:
            number = _segment_number(path)
            if number < segment:
                continue
            start = offset if number == segment else 0
            if path.stat().st_size < start:
                raise RingscopeError(
                    f"the key index {self._index.path} reaches past the end of {path}; "
                    "remove the index (it is made again from the log at the next start)"
                )
            for lines, keys, end in keyed_chunks(path, start):
                self._index.add(keys, number, end, len(lines))
                indexed += len(lines)
        return indexed

    def _ensure_indexed(self) -> None:
        """After a failed index commit: index the active segment's tail first."""
        if self._behind:
            caught = self._catch_up([self._active])
            self._active_lines += caught
            self.total += caught
            self._behind = False

    def _open_active(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fsync_dir(self.active_dir)
        self._active = path
        with open(path, "rb") as fh:
            self._active_lines = sum(1 for _ in fh)
        self._active_bytes = path.stat().st_size
        self.oldest_unsealed = time.monotonic() if self._active_lines else None
        self._index.add((), _segment_number(path), self._active_bytes, 0)

    def _seal_file(self, path: Path) -> None:
        os.replace(path, self.sealed_dir / path.name)
        fsync_dir(self.sealed_dir)
        fsync_dir(self.active_dir)

    def append(self, checked: CheckedEvents) -> AppendResult:
        """Store the accepted events not logged yet and the rejects; durable on return."""
        with self._lock:
            self._ensure_indexed()
            lines: list[bytes] = []
            new_keys: list[str] = []
            known = self._index.known([key for _, _, key in checked.accepted])
            for _, line, key in checked.accepted:
                if key in known:  # logged before, or earlier in this request
                    continue
                known.add(key)
                lines.append(line)
                new_keys.append(key)
            if lines:
                data = b"\n".join(lines) + b"\n"
                _write_all(self._fd, data)
                os.fsync(self._fd)
                self._commit(new_keys, len(data))
                if self._active_lines == 0:
                    self.oldest_unsealed = time.monotonic()
                self._active_lines += len(lines)
                self.total += len(lines)
            if checked.rejects.height:
                self._append_rejects(checked.rejects)
            return AppendResult(len(lines), len(checked.accepted) - len(lines))

    def _commit(self, keys: list[str], written: int) -> None:
        """Index the keys of lines just made durable, with the checkpoint after them."""
        self._active_bytes += written
        try:
            self._index.add(keys, _segment_number(self._active), self._active_bytes, len(keys))
        except BaseException:
            self._behind = True  # the lines are logged, unacknowledged: key them first
            raise

    def _append_rejects(self, rejects: pl.DataFrame) -> None:
        received = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        rows = rejects.with_columns(pl.lit(received).alias("received_at")).to_dicts()
        data = b"".join(orjson.dumps(r) + b"\n" for r in rows)
        fd = os.open(self.rejects_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.rejected_total += len(rows)

    def seal(self) -> int:
        """Seal the active segment (when it holds events) and start a new one.

        Returns the number of events in sealed segments afterwards: what a micro-batch
        started now will read.
        """
        with self._lock:
            self._ensure_indexed()
            if self._active_lines:
                os.close(self._fd)
                self._seal_file(self._active)
                self.sealed_total += self._active_lines
                number = _segment_number(self._active) + 1
                self._open_active(self.active_dir / f"seg-{number:08d}.jsonl")
            return self.sealed_total

    def forget_sealed(self, events: int) -> None:
        """Count ``events`` fewer sealed events (duplicates a compaction dropped)."""
        with self._lock:
            self.sealed_total -= events
            self.total -= events

    def close(self) -> None:
        """Close the active segment and release the root (appends are already durable)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._index is not None:
                self._index.close()
                self._index = None
            if self._root_lock is not None:
                os.close(self._root_lock)
                self._root_lock = None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
