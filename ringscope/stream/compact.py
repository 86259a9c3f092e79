"""``ringscope compact ROOT``: merge a stream root's sealed segments, and re-base it.

A stream root grows one sealed segment per micro-batch (``ROOT/stream/log/``) and one
ingest-cache entry per segment (``ROOT/stream/cache/``). Compaction merges runs of
consecutive sealed segments into one segment each (at most ``max_segment_bytes``; a
segment already that large is left alone), named after the newest segment it replaces
so numbering stays monotonic, and makes the merged segment's ingest-cache entry in the
same step (with the stream's key; without one the next batch makes it). The merged
segment holds the same lines in the same order, so a batch over the compacted log reads
exactly the same event table (``--verify`` checks it); a line whose idempotency key
(:func:`.check.event_key`) an earlier line already has, which the log never stores, is
dropped and counted. The keys seen so far are kept in a scratch SQLite file of the
staging folder (:class:`.keyindex.KeyIndex`), and segments are read a few MiB at a time,
so compaction's memory does not grow with the log. The active segment is not touched,
nor is the log's idempotency index: its keys are the same after a compaction; only its
event count goes down by the dropped lines (see ``finish_compaction``).

It also **re-bases** the state kept between micro-batches: it raises the generation in
``ROOT/stream/rebase.json``, and the next micro-batch (:mod:`.batch_run`) drops the risk
model it kept and fits again, so no drift from the batch result outlives a compaction;
and it keeps only the newest ``keep_batch_lines`` lines of ``ROOT/stream/batches.jsonl``
and removes the half-written cache entries (``*.tmp``) of killed batches.

**Crash safety.** New files are written under ``ROOT/stream/compacting/`` and fsync'ed;
then a journal (``ROOT/stream/compact.json``: which new segment replaces which old ones)
is written and renamed into place: the commit point. Applying it renames the new
segment over the newest old one, removes the others and swaps the cache entries, lowers
the event count of the idempotency index by the dropped lines (once per compaction
generation, so applying it again changes nothing), then removes the journal.
:func:`finish_compaction` runs before anything reads the log (:meth:`.log.EventLog.open`
at server start, every micro-batch, every compaction): with a journal it applies it
again (every step can be repeated), without one it discards the staging folder. A crash
at any point leaves the old set or the new set, never both and never neither: no
acknowledged event is lost or doubled.

Compaction owns the root while it runs (:func:`.log.lock_stream`): beside a running
``ringscope serve --ingest`` it refuses, naming the server's pid. The server compacts
by itself between micro-batches when ``stream.compact_segments`` is set
(:mod:`.batcher`), in its worker under its own lock.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import orjson

from ringscope.errors import RingscopeError
from ringscope.privacy import Keyring
from ringscope.stream.keyindex import KeyIndex
from ringscope.stream.log import (
    fsync_dir,
    key_index_path,
    keyed_chunks,
    lock_stream,
    sealed_segments,
    stream_dirs,
)

__all__ = [
    "CompactReport",
    "VerifyFailed",
    "check_stream_root",
    "compact",
    "finish_compaction",
    "rebase_generation",
]

STAGING = "compacting"
JOURNAL = "compact.json"
SEEN = "seen.sqlite"  # the scratch key set of a compaction, in the staging folder
REBASE = "rebase.json"
DEFAULT_MAX_SEGMENT_BYTES = 256 * 1024 * 1024
DEFAULT_KEEP_BATCH_LINES = 1000


class VerifyFailed(RingscopeError):
    """The compacted log does not give the event table the old one gave."""


@dataclass
class CompactReport:
    """What one compaction did."""

    segments_before: int
    segments_after: int
    segment_bytes_before: int
    segment_bytes_after: int
    cache_entries_before: int
    cache_entries_after: int
    cache_bytes_before: int
    cache_bytes_after: int
    events: int  # in sealed segments, after
    duplicates_dropped: int
    merged_segments: int  # old segments merged into others
    cache_built: bool  # the merged segments' cache entries were made (a key was given)
    batch_lines_dropped: int
    generation: int  # the re-base generation now in rebase.json
    seconds: float
    verified: bool | None = None  # None: not asked for

    def as_dict(self) -> dict:
        return asdict(self)


def check_stream_root(root: Path) -> Path:
    """``root`` resolved, or a clear error when it is not a stream root."""
    root = Path(root)
    if not root.exists():
        raise RingscopeError(f"no such stream root: {root}")
    if not root.is_dir():
        raise RingscopeError(f"stream root is not a directory: {root}")
    if not stream_dirs(root)[1].is_dir():
        raise RingscopeError(
            f"{root} is not a stream root: it has no stream/log/ folder "
            "(one is made by `ringscope serve --ingest`)"
        )
    return root.resolve()


def rebase_generation(root: Path) -> int:
    """How many times the stream was re-based (0: never)."""
    try:
        return int(orjson.loads((Path(root) / "stream" / REBASE).read_bytes())["generation"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        else:
            fsync_dir(path)
    fsync_dir(folder)


def _tree_bytes(folder: Path) -> tuple[int, int]:
    """(entries, bytes) of a cache folder."""
    if not folder.is_dir():
        return 0, 0
    entries = [p for p in folder.iterdir() if p.is_dir() and not p.name.endswith(".tmp")]
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return len(entries), size


def finish_compaction(root: Path) -> bool:
    """Apply a committed compaction again, or discard an uncommitted one's files.

    Call with the root locked (or from its server's worker). True when a journal was
    applied.
    """
    base = Path(root) / "stream"
    journal, staging = base / JOURNAL, base / STAGING
    if not journal.exists():
        if staging.exists():  # not committed: the old segments stand
            shutil.rmtree(staging)
        return False
    plan = orjson.loads(journal.read_bytes())
    _, sealed = stream_dirs(root)
    cache = base / "cache"
    outputs: dict[str, list[str]] = plan["outputs"]
    for name, replaced in outputs.items():
        staged = staging / "log" / name
        if staged.exists():
            os.replace(staged, sealed / name)
        for old in replaced:
            if old != name:
                (sealed / old).unlink(missing_ok=True)
    fsync_dir(sealed)
    for name, replaced in outputs.items():
        for old in replaced:
            if old != name:
                shutil.rmtree(cache / old, ignore_errors=True)
        staged = staging / "cache" / name
        if staged.exists():
            shutil.rmtree(cache / name, ignore_errors=True)
            cache.mkdir(exist_ok=True)
            os.replace(staged, cache / name)
        elif not plan["cache"]:
            shutil.rmtree(cache / name, ignore_errors=True)
    if cache.is_dir():
        fsync_dir(cache)
    if plan.get("dropped") and key_index_path(root).exists():
        index = KeyIndex(key_index_path(root))
        try:
            index.forget_events(plan["dropped"], plan["generation"])
        finally:
            index.close()
    write_atomic(base / REBASE, orjson.dumps({"generation": plan["generation"]}))
    journal.unlink()
    fsync_dir(base)
    shutil.rmtree(staging, ignore_errors=True)
    return True


def _plan(segments: list[Path], max_bytes: int) -> list[list[Path]]:
    """Runs of consecutive segments, each at most ``max_bytes`` (or one larger segment)."""
    groups: list[list[Path]] = []
    current: list[Path] = []
    size = 0
    for segment in segments:
        n = segment.stat().st_size
        if current and size + n > max_bytes:
            groups.append(current)
            current, size = [], 0
        current.append(segment)
        size += n
    if current:
        groups.append(current)
    return groups


def _first_seen(lines: list[bytes], keys: list[str], seen: KeyIndex) -> list[bytes]:
    """The lines whose key no earlier line had; their keys are added to ``seen``."""
    known = seen.known(keys)
    kept, new = [], []
    for line, key in zip(lines, keys, strict=True):
        if key not in known:
            known.add(key)
            kept.append(line)
            new.append(key)
    seen.add(new, 0, 0, len(new))
    return kept


def _merge(group: list[Path], out: Path, seen: KeyIndex) -> tuple[int, int]:
    """Write the lines of ``group`` (in order) not keyed before; (written, dropped)."""
    written = dropped = 0
    with open(out, "wb") as fh:
        for segment in group:
            for lines, keys, _ in keyed_chunks(segment):
                kept = _first_seen(lines, keys, seen)
                fh.write(b"".join(x + b"\n" for x in kept))
                written += len(kept)
                dropped += len(lines) - len(kept)
        fh.flush()
        os.fsync(fh.fileno())
    return written, dropped


def _trim_batches(base: Path, keep: int) -> int:
    """Keep the newest ``keep`` lines of batches.jsonl; how many were dropped."""
    path = base / "batches.jsonl"
    if not path.exists():
        return 0
    lines = path.read_bytes().splitlines(keepends=True)
    if len(lines) <= keep:
        return 0
    write_atomic(path, b"".join(lines[len(lines) - keep :]))
    return len(lines) - keep


def _event_table(segments: list[Path], cache: Path, keyring: Keyring):
    from ringscope.stream.ingest_cache import cached_ingest, merge_ingested

    return merge_ingested([cached_ingest(s, cache, keyring) for s in segments]).events


def compact(
    root: Path,
    *,
    keyring: Keyring | None = None,
    max_segment_bytes: int = DEFAULT_MAX_SEGMENT_BYTES,
    keep_batch_lines: int = DEFAULT_KEEP_BATCH_LINES,
    verify: bool = False,
    locked: bool = False,
) -> CompactReport:
    """Compact the stream root ``root`` (see the module doc) and say what was done.

    ``keyring``: make the merged segments' ingest-cache entries (None: the next batch
    makes them). ``verify``: compare the event table of the compacted log with that of
    the old one (needs ``keyring``; raises :class:`VerifyFailed`). ``locked``: the
    caller owns the root (the server's worker); otherwise the root is locked here, and
    a running server makes this raise :class:`.log.StreamLocked`.
    """
    started = time.perf_counter()
    root = check_stream_root(root)
    if verify and keyring is None:
        raise RingscopeError("--verify needs the stream's key (RINGSCOPE_SECRET_KEY)")
    if max_segment_bytes < 1:
        raise RingscopeError(f"max segment size must be positive, got {max_segment_bytes}")
    if keep_batch_lines < 0:
        raise RingscopeError(f"batch lines to keep must be 0 or more, got {keep_batch_lines}")
    lock = None if locked else lock_stream(root, "ringscope compact")
    try:
        return _compact(root, keyring, max_segment_bytes, keep_batch_lines, verify, started)
    finally:
        if lock is not None:
            os.close(lock)


def _compact(
    root: Path,
    keyring: Keyring | None,
    max_segment_bytes: int,
    keep_batch_lines: int,
    verify: bool,
    started: float,
) -> CompactReport:
    from ringscope.ingest import ingest
    from ringscope.stream.ingest_cache import save_ingest

    finish_compaction(root)
    base = root / "stream"
    _, sealed = stream_dirs(root)
    cache = base / "cache"
    before = sealed_segments(root)
    bytes_before = sum(s.stat().st_size for s in before)
    entries_before, cache_before = _tree_bytes(cache)
    expected = None
    if verify and before:
        expected = ingest(before, keyring=keyring, max_reject_rate=1.0).events
    if cache.is_dir():  # half-written entries of killed batches: never read, only kept
        for leftover in cache.glob("*.tmp"):
            shutil.rmtree(leftover, ignore_errors=True)
    staging = base / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "log").mkdir(parents=True)
    (staging / "cache").mkdir()
    outputs: dict[str, list[str]] = {}
    events = dropped = 0
    seen = KeyIndex(staging / SEEN)
    try:
        for group in _plan(before, max_segment_bytes):
            if len(group) == 1:  # left as it is; its keys still count for what follows
                for lines, keys, _ in keyed_chunks(group[0]):
                    seen.add(keys, 0, 0, 0)
                    events += len(lines)
                continue
            name = group[-1].name
            out = staging / "log" / name
            written, gone = _merge(group, out, seen)
            events += written
            dropped += gone
            outputs[name] = [s.name for s in group]
            if keyring is not None:
                result = ingest([out], keyring=keyring, max_reject_rate=1.0, keep_terms=True)
                final = str(sealed / name)  # as a batch's own ingest of it would name it
                result.inputs = [replace(s, path=final) for s in result.inputs]
                save_ingest(result, staging / "cache" / name, keyring, out.stat().st_size)
    finally:
        seen.close()
    for scratch in staging.glob(SEEN + "*"):
        scratch.unlink()
    _fsync_tree(staging)
    generation = rebase_generation(root) + 1
    journal = {
        "outputs": outputs,
        "cache": keyring is not None,
        "generation": generation,
        "dropped": dropped,
    }
    write_atomic(base / JOURNAL, orjson.dumps(journal))  # the commit point
    finish_compaction(root)
    batch_lines = _trim_batches(base, keep_batch_lines)
    after = sealed_segments(root)
    entries_after, cache_after = _tree_bytes(cache)
    verified = None
    if expected is not None:
        verified = _event_table(after, cache, keyring).equals(expected)
    elif verify:
        verified = True  # nothing sealed: nothing to compare
    report = CompactReport(
        segments_before=len(before),
        segments_after=len(after),
        segment_bytes_before=bytes_before,
        segment_bytes_after=sum(s.stat().st_size for s in after),
        cache_entries_before=entries_before,
        cache_entries_after=entries_after,
        cache_bytes_before=cache_before,
        cache_bytes_after=cache_after,
        events=events,
        duplicates_dropped=dropped,
        merged_segments=sum(len(v) for v in outputs.values()),
        cache_built=keyring is not None,
        batch_lines_dropped=batch_lines,
        generation=generation,
        seconds=round(time.perf_counter() - started, 3),
        verified=verified,
    )
    if verified is False:
        raise VerifyFailed(
            "the compacted log's event table differs from the old log's "
            f"({dropped} duplicate lines were dropped)"
        )
    return report
