"""The ingest step: input files -> the canonical, pseudonymised event table + rejects.

Files are read in bounded batches. Each batch is validated and normalised right away
(rejects are scrubbed and sealed, URLs reduced to domains, texts normalised); the
keyed hashing, content fingerprints and de-duplication run once at the end over
*distinct* values, so each identifier, text and host is processed once per run
however often it occurs.

Pseudonym kinds (the namespace argument of :meth:`Keyring.hash`): ``account`` (actor
ids and recipients, after :func:`normalize_account`, so they match), ``message``,
``ip``, ``subnet``, ``device``, ``email``, ``phone``, ``name``, ``content`` (the
normalised text), and ``url_ip`` (IP-literal link hosts, see :mod:`domains`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from ringscope.errors import RejectRateExceeded
from ringscope.graph.ingest.domains import DomainResolver
from ringscope.graph.ingest.fingerprint import content_bands, normalize_content
from ringscope.graph.ingest.hashing import hash_distinct
from ringscope.graph.ingest.normalize import (
    email_pattern,
    map_distinct,
    normalize_account,
    normalize_email,
    normalize_name,
    normalize_phone,
)
from ringscope.graph.ingest.raw import ProgressCallback, RawBatch
from ringscope.graph.ingest.readers import read_batches
from ringscope.graph.ingest.rejects import REJECT_SCHEMA, empty_rejects, preview
from ringscope.graph.ingest.sources import Format, Source, resolve_sources
from ringscope.graph.ingest.validate import REASON_COLUMN, validate
from ringscope.graph.schema import EVENT_SCHEMA
from ringscope.privacy import Keyring

__all__ = ["IngestResult", "InputStats", "ingest"]

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

    @property
    def records(self) -> int:
        """Records read from all inputs (blank lines not counted)."""
        return sum(s.records for s in self.inputs)

    @property
    def reject_rate(self) -> float:
        """Share of records rejected (0 when nothing was read)."""
        return len(self.rejects) / self.records if self.records else 0.0


def _stage(checked: pl.DataFrame, resolver: DomainResolver) -> pl.DataFrame:
    """Accepted rows of one batch with normalised, not yet hashed, values."""
    return checked.select(
        "_seq",
        "_source",
        "ts",
        "actor_id",
        "event_type",
        "event_id",
        "message_id",
        "target_id",
        "recipients",
        pl.Series("domains", resolver.domains(checked["urls"])),
        normalize_content(checked["subject"], checked["text"]).alias("content"),
        "ip",
        "subnet",
        "device_id",
        "email",
        "phone",
        "display_name",
    )


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
    """Keyed hashes of a column, normalising and hashing each distinct value once."""
    if normalize is not None:
        series = map_distinct(series, normalize)
    uniques = series.drop_nulls().unique()
    if len(uniques) == 0:
        return pl.Series(series.name, [None] * len(series), dtype=pl.Utf8)
    hashes = hash_distinct(keyring, kind, uniques)
    return series.replace_strict(uniques, hashes, default=None, return_dtype=pl.Utf8)


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


def _fingerprints(content: pl.Series, keyring: Keyring) -> pl.DataFrame:
    """``content_key`` and ``content_bands`` per row, computed once per distinct text."""
    distinct = content.drop_nulls().unique()
    table = pl.DataFrame(
        {
            "content": distinct,
            "content_key": _pseudonyms(keyring, "content", distinct),
            "content_bands": content_bands(distinct),
        }
    )
    joined = pl.DataFrame({"content": content}).join(
        table, on="content", how="left", maintain_order="left"
    )
    return joined.select("content_key", "content_bands")


#: Hashed event column <- (staged column, pseudonym kind, normaliser).
_KEYED_COLUMNS: dict[str, tuple[str, str, Callable[[str], str | None] | None]] = {
    "message_key": ("message_id", "message", None),
    "ip_key": ("ip", "ip", None),
    "subnet_key": ("subnet", "subnet", None),
    "device_key": ("device_id", "device", None),
    "email_pattern_key": ("email", "email_pattern", email_pattern),
    "email_key": ("email", "email", normalize_email),
    "phone_key": ("phone", "phone", normalize_phone),
    "name_key": ("display_name", "name", normalize_name),
}


def _assemble(staged: pl.DataFrame, keyring: Keyring) -> pl.DataFrame:
    """Sorted, pseudonymised event table in :data:`EVENT_SCHEMA` from de-duplicated rows.

    Rows are sorted first (while they are narrow) and each raw column is dropped as
    soon as its pseudonyms exist, to keep the memory peak low.
    """
    staged = staged.sort(["ts", "actor_id", "_seq"])
    actor_key, recipients = _hash_recipients(staged, keyring)
    frame = staged.with_columns(actor_key, recipients)
    del staged
    frame = frame.with_columns(_fingerprints(frame["content"], keyring)).drop("content")
    pending = [column for column, _, _ in _KEYED_COLUMNS.values()]
    for name, (column, kind, normalize) in _KEYED_COLUMNS.items():
        keys = _pseudonyms(keyring, kind, frame[column], normalize)
        frame = frame.with_columns(keys.alias(name))
        pending.remove(column)
        if column not in pending:  # drop each raw column as soon as nothing needs it
            frame = frame.drop(column)
    return frame.select(pl.col(name).cast(dtype) for name, dtype in EVENT_SCHEMA.items())


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


def _read_all(sources: Sequence[Source], keyring: Keyring, progress: _Progress) -> _Staged:
    """Read, validate and normalise every batch of every source, in input order."""
    resolver = DomainResolver(keyring=keyring)
    staged = _Staged()
    seq = 0
    for index, source in enumerate(sources):
        records = rejected = 0
        for batch in read_batches(source, on_progress=progress.file(source)):
            checked = validate(batch.fields).with_columns(
                _seq=pl.int_range(seq, seq + len(batch), dtype=pl.Int64),
                _source=pl.lit(index, dtype=pl.Int32),
            )
            bad = checked[REASON_COLUMN].is_not_null().to_numpy()
            if bad.any():
                staged.rejects.append(_rejects(batch, checked, np.flatnonzero(bad), keyring))
            staged.rows.append(_stage(checked.filter(pl.Series(~bad)), resolver))
            records += len(batch)
            rejected += int(bad.sum())
            seq += len(batch)
        staged.records.append(records)
        staged.rejected.append(rejected)
    return staged


def _dedupe(rows: pl.DataFrame) -> tuple[pl.DataFrame, dict[int, int]]:
    """Drop repeated ``event_id`` s (first in input order wins) and count them per source."""
    keep = rows.select(
        pl.col("event_id").is_null() | pl.col("event_id").is_first_distinct()
    ).to_series()
    if keep.all():
        return rows, {}
    dropped = dict(rows.filter(~keep).group_by("_source").len().iter_rows())
    return rows.filter(keep), dropped


def ingest(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    keyring: Keyring,
    max_reject_rate: float = 0.05,
    progress: bool = False,
) -> IngestResult:
    """Read event files into the canonical, pseudonymised event table.

    Args:
        paths: Event files and/or directories (see :func:`resolve_sources`).
        keyring: Keys for the pseudonyms and for sealing rejected records.
        max_reject_rate: Largest accepted share of rejected records, in [0, 1].
        progress: Show a progress bar on stderr.

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
        events = pl.DataFrame(schema=EVENT_SCHEMA)
        duplicates: dict[int, int] = {}
        if staged.rows:
            rows = pl.concat(staged.rows, rechunk=False)
            staged.rows.clear()
            rows, duplicates = _dedupe(rows)
            if len(rows):
                bar.stage("pseudonymising")
                events = _assemble(rows, keyring)
    inputs = [
        InputStats(
            path=source.display,
            format=source.format,
            records=staged.records[i],
            accepted=staged.records[i] - staged.rejected[i] - duplicates.get(i, 0),
            rejected=staged.rejected[i],
            duplicates=duplicates.get(i, 0),
        )
        for i, source in enumerate(sources)
    ]
    result = IngestResult(
        events=events,
        rejects=pl.concat(staged.rejects) if staged.rejects else empty_rejects(),
        inputs=inputs,
        duplicates=sum(duplicates.values()),
    )
    log.info(
        "ingested %d records from %d file(s) in %.1fs: %d events, %d rejected (%.2f%%), "
        "%d duplicates",
        result.records,
        len(sources),
        time.perf_counter() - started,
        len(events),
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
