"""The ingest step: input files -> the canonical, pseudonymised event table + rejects.

Files are read in bounded batches. Each batch is validated and normalised right away
(rejects are scrubbed and sealed, URLs reduced to domains, texts normalised), and the
nearly-unique values are fingerprinted and hashed per batch (content keys and bands,
message ids); large JSONL files are processed this way by a pool of worker processes,
batches merged in input order. The other keyed hashing and the de-duplication run
once at the end over *distinct* values, so each identifier and host is processed once
per run however often it occurs; the results do not depend on how work was split.

Pseudonym kinds (the namespace argument of :meth:`Keyring.hash`): ``account`` (actor
ids and recipients, after :func:`normalize_account`, so they match), ``message``,
``ip``, ``subnet``, ``device``, ``email``, ``phone``, ``name``, ``content`` (the
normalised text), and ``url_ip`` (IP-literal link hosts, see :mod:`domains`).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from ringscope.errors import RejectRateExceeded
from ringscope.graph.schema import EVENT_SCHEMA
from ringscope.ingest.content_terms import ContentVectors, TermBatch, hash_terms, merge_terms
from ringscope.ingest.domains import DomainResolver
from ringscope.ingest.fields import FIELDS, UNUSED_FIELDS, batch_fields
from ringscope.ingest.fingerprint import content_bands, normalize_content
from ringscope.ingest.hashing import BackgroundHashes, hash_distinct, hex_digests
from ringscope.ingest.jsonl import jsonl_blocks, new_parser, parse_block
from ringscope.ingest.name_grams import name_gram_table
from ringscope.ingest.normalize import (
    normal_email_pattern,
    normalize_account,
    normalize_email,
    normalize_name,
    normalize_phone,
)
from ringscope.ingest.objects import object_kind
from ringscope.ingest.raw import ProgressCallback, RawBatch
from ringscope.ingest.readers import read_batches
from ringscope.ingest.rejects import REJECT_SCHEMA, empty_rejects, preview
from ringscope.ingest.sources import Format, Source, resolve_sources
from ringscope.ingest.validate import REASON_COLUMN, validate
from ringscope.lifetime import die_with_parent
from ringscope.privacy import Keyring

__all__ = [
    "IngestResult",
    "InputStats",
    "check_batch",
    "finish_ingest",
    "ingest",
    "input_stats",
    "process_batch",
    "pseudonymise",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InputStats:
    """What became of the records of one input file."""

    path: str
    format: Format
    records: int  # non-blank records read
    accepted: int  # in the event table
    rejected: int
    duplicates: int  # dropped because an earlier record had the same event_id


@dataclass
class IngestResult:
    """The event table, the rejected records and per-file counts of one ingest run."""

    events: pl.DataFrame
    rejects: pl.DataFrame
    inputs: list[InputStats] = field(default_factory=list)
    duplicates: int = 0
    #: Keyed trigram hashes per distinct ``name_key`` (fuzzy name matching, see name_grams).
    names: pl.DataFrame | None = None
    #: Keyed hashed-term vectors per distinct ``content_key`` (see content_terms).
    content: ContentVectors | None = None
    #: Names of the fields the inputs gave (known or not; JSONL: from sampled records).
    fields_given: set[str] = field(default_factory=set)
    #: The per-batch term hashes ``content`` was merged from (only with ``keep_terms``:
    #: to merge this result with others later, see :mod:`ringscope.stream.ingest_cache`).
    term_batches: list[TermBatch] | None = None
    #: The offender index's key table of ``events`` (``actor_key_table``) where a stream
    #: kept it between batches and added the new events' keys; None: the step builds it.
    actor_keys: pl.DataFrame | None = None

    @property
    def input_fields(self) -> dict[str, list[str]]:
        """Fields given, used and given-but-unused (unknown or unused by every step)."""
        used = sorted(self.fields_given & (set(FIELDS) - UNUSED_FIELDS))
        unused = sorted(self.fields_given - set(used))
        return {"present": sorted(self.fields_given), "used": used, "unused": unused}

    @property
    def records(self) -> int:
        """Records read from all inputs (blank lines not counted)."""
        return sum(s.records for s in self.inputs)

    @property
    def reject_rate(self) -> float:
        """Share of records rejected (0 when nothing was read)."""
        return len(self.rejects) / self.records if self.records else 0.0


def _stage(
    checked: pl.DataFrame, resolver: DomainResolver, keyring: Keyring
) -> tuple[pl.DataFrame, TermBatch | None]:
    """Accepted rows of one batch with normalised values, content fingerprinted, and the
    keyed term hashes of the batch's distinct contents.

    The content fingerprints, term hashes and message pseudonyms are made here, per
    batch, because they are nearly unique per row and batches can run in parallel (see
    _read_all).
    """
    content = normalize_content(checked["subject"], checked["text"])
    fingerprints, terms = _fingerprints(content, keyring)
    rows = checked.select(
        "_seq",
        "_source",
        "ts",
        "actor_id",
        "event_type",
        "event_id",
        _pseudonyms(keyring, "message", checked["message_id"]).alias("message_key"),
        "target_id",
        "recipients",
        pl.Series("domains", resolver.domains(checked["urls"])),
        _list_keys(keyring, checked["url_keys"], lambda url: ("url", url)).alias("urls"),
        _list_keys(keyring, checked["object_ids"], object_kind).alias("object_ids"),
        *fingerprints,
        _traits(checked["traits"], checked["urls"]),
        "ip",
        "subnet",
        "device_id",
        "email",
        "phone",
        "display_name",
    )
    return rows, terms


def _traits(traits: pl.Series, urls: pl.Series) -> pl.Series:
    """The message's traits (contract field ``traits``, lower-cased) plus ``links:<n>``
    (``1``, ``2``, ``3-5``, ``6+``) for a record with links; null when it has neither."""
    frame = pl.DataFrame({"given": traits, "n": urls.list.len().fill_null(0)})
    links = (
        pl.when(pl.col("n") >= 6)
        .then(pl.lit("links:6+"))
        .when(pl.col("n") >= 3)
        .then(pl.lit("links:3-5"))
        .when(pl.col("n") >= 1)
        .then(pl.format("links:{}", pl.col("n")))
    )
    given = pl.col("given").list.eval(pl.element().str.to_lowercase())
    both = pl.concat_list(given.fill_null(pl.lit([], dtype=pl.List(pl.Utf8))), links)
    out = pl.when(pl.col("given").is_not_null() | (pl.col("n") > 0)).then(both.list.drop_nulls())
    return frame.select(out.alias("traits")).to_series()


def _list_keys(
    keyring: Keyring, lists: pl.Series, kind_of: Callable[[str], tuple[str, str]]
) -> pl.Series:
    """Each list's items as ``<kind>:<keyed hash>``, distinct per row, each value hashed once.

    ``kind_of`` maps an item to its kind and the text hashed (in the kind's namespace), so
    equal texts of different kinds never match.
    """
    exploded = pl.DataFrame({"v": lists}).with_row_index("row").explode("v", empty_as_null=True)
    by_kind: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    for value in exploded["v"].drop_nulls().unique().to_list():
        kind, text = kind_of(value)
        by_kind[kind].append((value, text))
    values, keys = [], []
    for kind, pairs in by_kind.items():
        digests = hex_digests(keyring.hash_digests(kind, [t for _, t in pairs]), len(pairs))
        values += [v for v, _ in pairs]
        keys += [f"{kind}:{d}" for d in digests]
    mapped = exploded.with_columns(
        pl.col("v").replace_strict(values, keys, default=None, return_dtype=pl.Utf8)
    )
    grouped = mapped.group_by("row", maintain_order=True).agg(
        pl.col("v").drop_nulls().unique(maintain_order=True)
    )
    return grouped.select(pl.when(lists.is_not_null()).then(pl.col("v"))).to_series()


def _rejects(
    batch: RawBatch, checked: pl.DataFrame, rows: np.ndarray, keyring: Keyring
) -> pl.DataFrame:
    """Reject rows of one batch: where, why, a scrubbed preview and the sealed record."""
    raws = [batch.raw[int(i)] for i in rows]
    return pl.DataFrame(
        {
            "source": [batch.source.display] * len(rows),
            "position": batch.positions[rows],
            "reason": checked[REASON_COLUMN].gather(rows),
            "preview": [preview(raw, header=batch.header) for raw in raws],
            "raw": [keyring.seal(raw) for raw in raws],
        },
        schema=REJECT_SCHEMA,
    )


def _pseudonyms(
    keyring: Keyring,
    kind: str,
    series: pl.Series,
    normalize: Callable[[str], str | None] | None = None,
) -> pl.Series:
    """Keyed hashes of a column: each distinct value normalised once, each distinct
    normal form hashed once, and one pass over the column to put the hashes in."""
    if normalize is None:
        uniques = series.drop_nulls().unique()
        return _put(series, uniques, hash_distinct(keyring, kind, uniques))
    uniques, normal = _distinct_normal(series, normalize)
    return _put(series, uniques, _form_hashes(keyring, kind, normal))


def _distinct_normal(
    series: pl.Series, normalize: Callable[[str], str | None]
) -> tuple[pl.Series, list[str | None]]:
    """The distinct values of ``series`` and the normal form of each (None: invalid),
    each value normalised once: the normalisers are Python calls, the costly part."""
    uniques = series.drop_nulls().unique()
    return uniques, [normalize(value) for value in uniques.to_list()]


def _email_keys(keyring: Keyring, emails: pl.Series) -> tuple[pl.Series, pl.Series]:
    """``email_key`` and ``email_pattern_key``: each distinct address normalised once,
    its pattern taken from that normal form."""
    uniques, normal = _distinct_normal(emails, normalize_email)
    patterns = [None if email is None else normal_email_pattern(email) for email in normal]
    return (
        _put(emails, uniques, _form_hashes(keyring, "email", normal)).alias("email_key"),
        _put(emails, uniques, _form_hashes(keyring, "email_pattern", patterns)).alias(
            "email_pattern_key"
        ),
    )


def _name_keys(keyring: Keyring, names: pl.Series) -> tuple[pl.Series, pl.DataFrame]:
    """``name_key`` and the keyed trigrams per distinct key (:func:`name_gram_table`):
    each distinct display name normalised once for both."""
    uniques, normal = _distinct_normal(names, normalize_name)
    hashes = _form_hashes(keyring, "name", normal)
    grams = name_gram_table(keyring, pl.Series(normal, dtype=pl.Utf8), hashes)
    return _put(names, uniques, hashes).alias("name_key"), grams


def _form_hashes(keyring: Keyring, kind: str, forms: list[str | None]) -> pl.Series:
    """Keyed hash of each normal form (null for None), each distinct form hashed once."""
    normal = pl.Series(forms, dtype=pl.Utf8)
    distinct = normal.drop_nulls().unique()
    if len(distinct) == 0:
        return pl.Series([None] * len(normal), dtype=pl.Utf8)
    hashes = hash_distinct(keyring, kind, distinct)
    return normal.replace_strict(distinct, hashes, default=None, return_dtype=pl.Utf8)


def _put(series: pl.Series, uniques: pl.Series, hashes: pl.Series) -> pl.Series:
    """``series`` with each of its distinct values replaced by its hash (null: none)."""
    known = hashes.is_not_null()
    if not known.any():
        return pl.Series(series.name, [None] * len(series), dtype=pl.Utf8)
    return series.replace_strict(
        uniques.filter(known), hashes.filter(known), default=None, return_dtype=pl.Utf8
    )


def _hash_recipients(events: pl.DataFrame, keyring: Keyring) -> tuple[pl.Series, pl.Series]:
    """``actor_key`` and hashed ``recipients`` (one namespace, so they can match)."""
    exploded = events.select(pl.int_range(pl.len()).alias("row"), "recipients").explode(
        "recipients", empty_as_null=True
    )
    accounts = pl.concat([events["actor_id"], exploded["recipients"].rename("actor_id")])
    keys = _pseudonyms(keyring, "account", accounts, normalize_account)
    actor_key = keys[: len(events)].rename("actor_key")
    exploded = exploded.with_columns(key=keys[len(events) :])
    grouped = exploded.group_by("row", maintain_order=True).agg(
        pl.col("key").drop_nulls().unique(maintain_order=True)
    )
    recipients = grouped.select(
        pl.when(events["recipients"].is_not_null()).then(pl.col("key")).alias("recipients")
    ).to_series()
    return actor_key, recipients


def _fingerprints(content: pl.Series, keyring: Keyring) -> tuple[list[pl.Series], TermBatch | None]:
    """``content_key`` and ``content_bands`` per row, and the keyed term hashes, each
    computed once per distinct text."""
    distinct = content.drop_nulls().unique()
    if len(distinct) == 0:
        return [
            pl.Series("content_key", [None] * len(content), dtype=pl.Utf8),
            pl.Series("content_bands", [None] * len(content), dtype=pl.List(pl.UInt64)),
        ], None
    keys = hex_digests(keyring.hash_digests("content", distinct.to_list()), len(distinct))
    table = pl.DataFrame(
        {"content": distinct, "content_key": keys, "content_bands": content_bands(distinct)}
    )
    joined = pl.DataFrame({"content": content}).join(
        table, on="content", how="left", maintain_order="left"
    )
    return [joined["content_key"], joined["content_bands"]], hash_terms(distinct, keys, keyring)


#: Hashed event column <- (staged column, pseudonym kind, normaliser); the email column's
#: two keys are made together (:func:`_email_keys`), and display names with their
#: trigrams (:func:`_name_keys`).
_KEYED_COLUMNS: dict[str, tuple[str, str, Callable[[str], str | None] | None]] = {
    "ip_key": ("ip", "ip", None),
    "subnet_key": ("subnet", "subnet", None),
    "device_key": ("device_id", "device", None),
    "phone_key": ("phone", "phone", normalize_phone),
}


#: Columns hashed without a normaliser, in a background process (see BackgroundHashes).
_BACKGROUND = ("ip_key", "device_key")


_SORT_GROUP = 2  # columns gathered at once: in parallel, yet only two held twice


def _sorted(held: list[pl.DataFrame], keep: pl.Series | None = None) -> pl.DataFrame:
    """The one frame in ``held`` (taken out) sorted by ts, actor_id and input order,
    without the rows ``keep`` leaves out (None: every row).

    Two columns at a time (gathered in parallel), each pair of unsorted columns freed as
    soon as its sorted copy exists, so the peak holds two columns twice rather than the
    whole table (all at once held ~0.5 GB more at 2M records). Each pair is first copied
    into one chunk, and the chunked pair dropped: the rows come in one chunk per input
    block, and a gather across chunks looks up every row's chunk (2M records, 27 blocks:
    2.0-2.3 s CPU, against 0.9-1.2 s for the copy and a one-chunk gather). Dropping the
    repeated rows in the same gather, rather than filtering a copy of the whole table
    first, saves that copy (~0.8 GB at 2M records); the order of the kept rows is the same.
    """
    frame = held.pop()
    order = frame.select(pl.arg_sort_by(["ts", "actor_id", "_seq"])).to_series()
    if keep is not None:
        order = order.filter(keep.gather(order))
    parts = []
    while frame.width:
        names = frame.columns[:_SORT_GROUP]
        pair = frame.select(names).rechunk()
        frame = frame.drop(names)
        parts.append(pair.select(pl.all().gather(order)))
        del pair
    return pl.concat(parts, how="horizontal")


def _assemble(
    held: list[pl.DataFrame], keyring: Keyring, keep: pl.Series | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Sorted, pseudonymised event table in :data:`EVENT_SCHEMA` from the rows ``keep``
    keeps (None: all; see :func:`_dedupe`), and the keyed name trigrams per distinct
    ``name_key`` (made before names are dropped).

    ``held`` holds the rows (the only reference to them, so that they can be freed as
    they are sorted). Rows are sorted first, then pseudonymised (:func:`pseudonymise`).
    The larger sets of distinct values without a normaliser (IPs, devices) are hashed by
    a background process while this one works on the accounts.
    """
    staged = _sorted(held, keep)
    background = {name: _KEYED_COLUMNS[name] for name in _BACKGROUND}
    hashes = BackgroundHashes(
        keyring, {name: (kind, staged[column]) for name, (column, kind, _) in background.items()}
    )
    held.append(staged)
    del staged
    try:
        frame, names = pseudonymise(held, keyring, hashes)
    finally:
        hashes.close()
    events = frame.select(pl.col(name).cast(dtype) for name, dtype in EVENT_SCHEMA.items())
    return events, names


def pseudonymise(
    held: list[pl.DataFrame], keyring: Keyring, hashes: BackgroundHashes | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Staged rows (:func:`process_batch`, taken out of ``held``) with every identifier
    replaced by its keyed hash (the columns of :data:`EVENT_SCHEMA`, plus any others the
    rows have), and the keyed name trigrams per distinct ``name_key``.

    A keyed hash depends on the value alone, so pseudonymising any split of the rows
    gives the same hashes as the whole (the Spark engine does it per batch on its
    executors). Each raw column is dropped as soon as its pseudonyms exist, to keep the
    memory peak low. ``hashes`` may hold the IP and device pseudonyms made in the
    background (:data:`_BACKGROUND`); without it they are made here.
    """
    frame = held.pop()
    actor_key, recipients = _hash_recipients(frame, keyring)
    frame = frame.with_columns(actor_key, recipients)
    frame = frame.with_columns(*_email_keys(keyring, frame["email"])).drop("email")
    name_key, names = _name_keys(keyring, frame["display_name"])
    frame = frame.with_columns(name_key).drop("display_name")
    for name, (column, kind, normalize) in _KEYED_COLUMNS.items():
        if hashes is not None and name in _BACKGROUND:
            uniques, values = hashes.get(name)
            keys = frame[column].replace_strict(uniques, values, default=None, return_dtype=pl.Utf8)
        else:
            keys = _pseudonyms(keyring, kind, frame[column], normalize)
        # drop each raw column as soon as its pseudonyms exist
        frame = frame.with_columns(keys.alias(name)).drop(column)
    return frame, names


class _Progress:
    """Progress reporting for one run: a rich bar on stderr over input bytes, or nothing."""

    def __init__(self, bar: Any = None, task: Any = None) -> None:
        self._bar = bar
        self._task = task

    def file(self, source: Source) -> ProgressCallback | None:
        """Callback advancing the bar by bytes read from ``source``."""
        if self._bar is None:
            return None
        self._bar.update(self._task, description=f"ingest {os.path.basename(source.display)}")
        return lambda n: self._bar.advance(self._task, n)

    def stage(self, description: str) -> None:
        """Name the work being done after reading."""
        if self._bar is not None:
            self._bar.update(self._task, description=description)


@contextlib.contextmanager
def _progress(sources: Sequence[Source], *, enabled: bool) -> Iterator[_Progress]:
    """A :class:`_Progress` for the run, with a live bar only when ``enabled``."""
    if not enabled:
        yield _Progress()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description:<28}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
    )
    total = sum(s.size for s in sources)
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("ingest", total=total)
        yield _Progress(bar, task)
        bar.update(task, completed=total, description="ingest done")


@dataclass
class _Staged:
    """What reading all inputs produced, before the final pseudonymisation."""

    rows: list[pl.DataFrame] = field(default_factory=list)  # accepted, normalised
    rejects: list[pl.DataFrame] = field(default_factory=list)
    records: list[int] = field(default_factory=list)  # per source
    rejected: list[int] = field(default_factory=list)  # per source
    terms: list[TermBatch] = field(default_factory=list)  # keyed term hashes per batch
    fields: set[str] = field(default_factory=set)  # field names the inputs give


def check_batch(
    batch: RawBatch, keyring: Keyring, *, index: int = 0, seq: int = 0
) -> tuple[pl.DataFrame, np.ndarray, pl.DataFrame | None]:
    """Validate one batch against the input contract: (the checked rows with ``_seq`` and
    ``_source``, a boolean mask of the rejected rows, their reject records or None).

    The one check every path uses: file ingest here, and ``POST /v1/events``
    (:mod:`ringscope.stream.check`), so a record is accepted or rejected alike by both.
    """
    checked = validate(batch.fields).with_columns(
        _seq=pl.int_range(seq, seq + len(batch), dtype=pl.Int64),
        _source=pl.lit(index, dtype=pl.Int32),
    )
    bad = checked[REASON_COLUMN].is_not_null().to_numpy()
    rejects = _rejects(batch, checked, np.flatnonzero(bad), keyring) if bad.any() else None
    return checked, bad, rejects


def process_batch(
    batch: RawBatch, index: int, seq: int, resolver: DomainResolver, keyring: Keyring
) -> tuple[pl.DataFrame, pl.DataFrame | None, int, TermBatch | None, set[str]]:
    """Validate and normalise one batch: (accepted rows, rejects or None, rejected count,
    keyed term hashes of its contents, the names of the fields the batch gives)."""
    checked, bad, rejects = check_batch(batch, keyring, index=index, seq=seq)
    rows, terms = _stage(checked.filter(pl.Series(~bad)), resolver, keyring)
    given = batch_fields(batch.fields, batch.columns, batch.raw)
    return rows, rejects, int(bad.sum()), terms, given


# Per worker process of the parallel JSONL path: (keyring, resolver, parser).
_WORKER: dict[str, Any] = {}
#: JSONL files at least this large (on disk) are parsed by a pool of processes.
PARALLEL_MIN_BYTES = 16 << 20
#: Decompressed bytes per block handed to a worker.
PARALLEL_BLOCK_BYTES = 16 << 20  # half the serial batch: a worker holds ~0.5 GB, not ~0.8
_IN_FLIGHT = 2  # blocks queued per worker beyond the one it works on


def _retain_freed_memory() -> None:
    """Keep freed blocks in the C heap instead of returning them to the kernel.

    A worker allocates and frees hundreds of megabytes per block; with glibc's defaults
    large buffers are mmapped and unmapped each time, and the kernel zeroing the fresh
    pages cost about a third of the ingest's CPU time. No-op where glibc is absent.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        for option, value in ((_M_TRIM_THRESHOLD, 1 << 30), (_M_MMAP_THRESHOLD, 1 << 28)):
            libc.mallopt(option, value)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters
_JEMALLOC_ENV = "_RJEM_MALLOC_CONF"  # read by Polars' jemalloc when a process starts
_NO_DECAY = "dirty_decay_ms:-1,muzzy_decay_ms:-1"


@contextlib.contextmanager
def _polars_keeps_freed_memory() -> Iterator[None]:
    """Workers spawned inside this context keep Polars' freed pages (jemalloc no-decay).

    Same reason as :func:`_retain_freed_memory`, for Polars' own allocator, which can
    only be configured through the environment of a starting process. Polars writes its
    defaults (and an operator's options after them) into that variable when it loads,
    so it is always set here: the no-decay options go after what it holds (jemalloc
    takes the last value of an option) and the variable is put back afterwards (on
    Polars' 0.5 s decay the workers of a 2M-record ingest took ~3 s more CPU).
    """
    before = os.environ.get(_JEMALLOC_ENV)
    os.environ[_JEMALLOC_ENV] = ",".join(filter(None, (before, _NO_DECAY)))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(_JEMALLOC_ENV, None)
        else:
            os.environ[_JEMALLOC_ENV] = before


def _init_worker(keyring: Keyring, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    _retain_freed_memory()
    _WORKER["keyring"] = keyring
    _WORKER["resolver"] = DomainResolver(keyring=keyring)
    _WORKER["parser"] = new_parser(threads=1)


def _work_block(
    source: Source, index: int, data: bytes, first_line: int
) -> tuple[pl.DataFrame, pl.DataFrame | None, int, int, TermBatch | None, set[str]] | None:
    """One JSONL block in a worker: (rows with ``_seq`` from 0, rejects, records, rejected,
    term hashes, fields given)."""
    batch = parse_block(_WORKER["parser"], source, data, first_line)
    if batch is None:
        return None
    rows, rejects, rejected, terms, given = process_batch(
        batch, index, 0, _WORKER["resolver"], _WORKER["keyring"]
    )
    return rows, rejects, len(batch), rejected, terms, given


def _workers() -> int:
    return min(4, os.cpu_count() or 1)


def _read_parallel(
    source: Source,
    index: int,
    seq: int,
    pool: ProcessPoolExecutor,
    progress: _Progress,
    staged: _Staged,
    block_bytes: int,
) -> tuple[int, int, int]:
    """Parse one JSONL file's blocks in ``pool``, merging results in input order."""
    records = rejected = 0
    pending: collections.deque[Future[Any]] = collections.deque()

    def take() -> None:
        nonlocal records, rejected, seq
        result = pending.popleft().result()
        if result is None:
            return
        rows, rejects, n, bad, terms, given = result
        staged.fields |= given
        if rejects is not None:
            staged.rejects.append(rejects)
        if terms is not None:
            staged.terms.append(terms)
        staged.rows.append(rows.with_columns(pl.col("_seq") + seq))
        records += n
        rejected += bad
        seq += n

    limit = _workers() * (1 + _IN_FLIGHT)
    blocks = jsonl_blocks(source, block_bytes=block_bytes, on_progress=progress.file(source))
    try:
        for data, first_line in blocks:
            pending.append(pool.submit(_work_block, source, index, bytes(data), first_line))
            del data
            while len(pending) >= limit:
                take()
        while pending:
            take()
    finally:
        blocks.close()
        for job in pending:
            job.cancel()
    return records, rejected, seq


def _read_all(
    sources: Sequence[Source],
    keyring: Keyring,
    progress: _Progress,
    *,
    parallel_min_bytes: int | None = None,
    block_bytes: int | None = None,
) -> _Staged:
    """Read, validate and normalise every batch of every source, in input order.

    Large JSONL files are parsed block by block in a pool of worker processes (spawned,
    so no thread state is inherited); their results are merged in input order, so the
    outcome is the same as reading serially.
    """
    threshold = PARALLEL_MIN_BYTES if parallel_min_bytes is None else parallel_min_bytes
    block_bytes = PARALLEL_BLOCK_BYTES if block_bytes is None else block_bytes
    resolver = DomainResolver(keyring=keyring)
    staged = _Staged()
    seq = 0
    with contextlib.ExitStack() as stack:
        pool: ProcessPoolExecutor | None = None
        for index, source in enumerate(sources):
            if source.format == "jsonl" and source.size >= threshold and _workers() > 1:
                if pool is None:
                    stack.enter_context(_polars_keeps_freed_memory())
                    pool = stack.enter_context(
                        ProcessPoolExecutor(
                            max_workers=_workers(),
                            mp_context=multiprocessing.get_context("spawn"),
                            initializer=_init_worker,
                            initargs=(keyring, os.getpid()),
                        )
                    )
                records, rejected, seq = _read_parallel(
                    source, index, seq, pool, progress, staged, block_bytes
                )
                staged.records.append(records)
                staged.rejected.append(rejected)
                continue
            records = rejected = 0
            for batch in read_batches(source, on_progress=progress.file(source)):
                rows, rejects, bad, terms, given = process_batch(
                    batch, index, seq, resolver, keyring
                )
                staged.fields |= given
                if rejects is not None:
                    staged.rejects.append(rejects)
                if terms is not None:
                    staged.terms.append(terms)
                staged.rows.append(rows)
                records += len(batch)
                rejected += bad
                seq += len(batch)
            staged.records.append(records)
            staged.rejected.append(rejected)
    return staged


def _dedupe(rows: pl.DataFrame) -> tuple[pl.Series | None, dict[int, int]]:
    """Which rows to keep when repeated ``event_id`` s are dropped (first in input order
    wins; None: every row) and the dropped count per source. The rows are not filtered
    here: :func:`_sorted` leaves the repeats out as it sorts."""
    keep = rows.select(
        pl.col("event_id").is_null() | pl.col("event_id").is_first_distinct()
    ).to_series()
    if keep.all():
        return None, {}
    dropped = dict(rows.filter(~keep).group_by("_source").len().iter_rows())
    return keep, dropped


def ingest(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    keyring: Keyring,
    max_reject_rate: float = 0.05,
    progress: bool = False,
    keep_terms: bool = False,
) -> IngestResult:
    """Read event files into the canonical, pseudonymised event table.

    Args:
        paths: Event files and/or directories (see :func:`resolve_sources`).
        keyring: Keys for the pseudonyms and for sealing rejected records.
        max_reject_rate: Largest accepted share of rejected records, in [0, 1].
        progress: Show a progress bar on stderr.
        keep_terms: Also keep the per-batch term hashes (``term_batches``).

    Returns:
        The events (:data:`EVENT_SCHEMA`, sorted by ts, actor_id, input order), the
        rejects (source, position, reason, preview, sealed raw record) and counts.

    Raises:
        InputError: An input path is missing, of an unknown format, or unreadable.
        RejectRateExceeded: Too many records were rejected; the full result is
            attached as ``.result`` so the caller can still write the rejects.
    """
    if not 0.0 <= max_reject_rate <= 1.0:
        raise ValueError(f"max_reject_rate must be in [0, 1], got {max_reject_rate}")
    started = time.perf_counter()
    sources = resolve_sources(paths)
    with _progress(sources, enabled=progress) as bar:
        staged = _read_all(sources, keyring, bar)
        content = merge_terms(staged.terms)
        kept_terms = list(staged.terms) if keep_terms else None
        staged.terms.clear()
        events = pl.DataFrame(schema=EVENT_SCHEMA)
        names = None
        duplicates: dict[int, int] = {}
        if staged.rows:
            rows = pl.concat(staged.rows, rechunk=False)
            staged.rows.clear()
            keep, duplicates = _dedupe(rows)
            if len(rows) > sum(duplicates.values()):
                bar.stage("pseudonymising")
                held = [rows]
                del rows  # _assemble frees each unsorted column once it is sorted
                events, names = _assemble(held, keyring, keep)
    result = IngestResult(
        events=events,
        rejects=pl.concat(staged.rejects) if staged.rejects else empty_rejects(),
        inputs=input_stats(sources, staged.records, staged.rejected, duplicates),
        duplicates=sum(duplicates.values()),
        names=names,
        content=content,
        fields_given=staged.fields,
        term_batches=kept_terms,
    )
    return finish_ingest(result, max_reject_rate, started=started)


def input_stats(
    sources: Sequence[Source], records: list[int], rejected: list[int], duplicates: dict[int, int]
) -> list[InputStats]:
    """What became of each source's records (``duplicates``: per source index)."""
    return [
        InputStats(
            path=source.display,
            format=source.format,
            records=records[i],
            accepted=records[i] - rejected[i] - duplicates.get(i, 0),
            rejected=rejected[i],
            duplicates=duplicates.get(i, 0),
        )
        for i, source in enumerate(sources)
    ]


def finish_ingest(result: IngestResult, max_reject_rate: float, *, started: float) -> IngestResult:
    """``result`` once logged (unused fields warned about), or :class:`RejectRateExceeded`
    with it attached when too many records were rejected; every engine ends here."""
    unused = result.input_fields["unused"]
    if unused:
        log.warning(
            "input fields present but unused by ringscope: %s (see the contract for the "
            "fields it reads)",
            ", ".join(unused),
        )
    log.info(
        "ingested %d records from %d file(s) in %.1fs: %d events, %d rejected (%.2f%%), "
        "%d duplicates",
        result.records,
        len(result.inputs),
        time.perf_counter() - started,
        len(result.events),
        len(result.rejects),
        100 * result.reject_rate,
        result.duplicates,
    )
    if result.reject_rate > max_reject_rate:
        raise _rate_error(result, max_reject_rate)
    return result


def _rate_error(result: IngestResult, limit: float) -> RejectRateExceeded:
    """The error for a run with too many rejects, with the result attached."""
    top = (
        result.rejects.group_by("reason")
        .len()
        .sort(["len", "reason"], descending=[True, False])
        .head(3)
    )
    reasons = ", ".join(f"{reason} ({n})" for reason, n in top.iter_rows())
    error = RejectRateExceeded(
        f"{len(result.rejects)} of {result.records} records rejected "
        f"({100 * result.reject_rate:.2f}% > limit {100 * limit:.2f}%); top reasons: {reasons}"
    )
    error.result = result  # type: ignore[attr-defined]
    return error
