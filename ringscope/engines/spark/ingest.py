"""Ingest on the Spark executors: the local engine's record checks and keyed hashing,
run where the records are read.

JSON Lines are read with ``spark.read.text``, lines split at ``\\n`` only, as the local
reader splits them (a gzip file is one Spark split; an uncompressed one is split into
byte ranges). A first task per split numbers its lines in file order
(:func:`_number_lines`); when the inputs have fewer splits than Spark has cores (one
large gzip file), the numbered lines are then spread over the cores in runs of
:data:`_SPREAD_LINES` (through Spark's shuffle files, which hold raw lines until the run
ends: ``spark.io.encryption.enabled`` encrypts them). CSV and Parquet files are read
whole, one task per file, by the local readers, because their record positions, quoted
multi-line fields and column types are those readers' own.

Every task runs the local code on blocks of records: :func:`process_batch` (validation,
normalisation, rejects sealed, term hashes) and :func:`pseudonymise` (the keyed hashes of
every identifier; a keyed hash depends on the value alone, so per block it is the one
the whole run gives). The accepted rows come back as Spark rows, and beside them, one
per block, the rejects, term hashes, name trigrams and counts as Arrow IPC payloads.
Repeated ``event_id`` s are dropped and the rows sorted by time, actor and input order
with Spark, and the executors write the event table as Parquet; the driver reads that
table (for the typed graph, which is still built on the driver) and the payloads, never
a raw record.

Input order is (file, byte offset of the Spark split, line or row within the split),
the order the local reader reads in, so the first of repeated event ids wins and sort
ties break as locally; a reject's line number is its line within the split plus the
lines of the file's earlier splits.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from ringscope.errors import InputError
from ringscope.graph.schema import EVENT_SCHEMA
from ringscope.ingest.content_terms import TermBatch, merge_terms
from ringscope.ingest.domains import DomainResolver
from ringscope.ingest.jsonl import new_parser, parse_block
from ringscope.ingest.pipeline import (
    PARALLEL_BLOCK_BYTES,
    IngestResult,
    finish_ingest,
    input_stats,
    process_batch,
    pseudonymise,
)
from ringscope.ingest.raw import RawBatch
from ringscope.ingest.readers import read_batches
from ringscope.ingest.rejects import REJECT_SCHEMA, empty_rejects
from ringscope.ingest.sources import Source, resolve_sources
from ringscope.privacy import Keyring

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from ringscope.engines.spark.frames import WorkDir

__all__ = ["spark_ingest"]

#: Input order of a row: source index, byte offset of its Spark split, position in it.
ORDER = ("_source", "_start", "_pos")
_BOM = b"\xef\xbb\xbf"
#: Consecutive lines kept together when the lines of few splits are spread over tasks.
_SPREAD_LINES = 8192
#: Repeated event ids up to this many are sent to every task (24 bytes each) to drop them.
_BROADCAST_REPEATS = 1_000_000
_ARROW_TYPES: dict[pl.DataType, pa.DataType] = {
    pl.Int64(): pa.int64(),
    pl.Utf8(): pa.string(),
    pl.List(pl.Utf8()): pa.list_(pa.string()),
    pl.List(pl.UInt64()): pa.list_(pa.int64()),  # Spark has no unsigned type: bit-cast
}
_SPARK_TYPES = {
    pa.int32(): "int",
    pa.int64(): "bigint",
    pa.string(): "string",
    pa.binary(): "binary",
    pa.list_(pa.string()): "array<string>",
    pa.list_(pa.int64()): "array<bigint>",
}
#: What an ingest task returns: event rows, or (``_kind`` set) one block's payload.
_SCHEMA = pa.schema(
    [(name, _ARROW_TYPES[dtype]) for name, dtype in EVENT_SCHEMA.items()]
    + [("_source", pa.int32()), ("_start", pa.int64()), ("_pos", pa.int64())]
    + [("_kind", pa.string()), ("_payload", pa.binary())]
)
_DDL = ", ".join(f"`{f.name}` {_SPARK_TYPES[f.type]}" for f in _SCHEMA)
_UNSIGNED = "content_bands"


def _ipc(frame: pl.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.write_ipc(out)
    return out.getvalue()


def _payload(kind: str, frame: pl.DataFrame, source: int, start: int, pos: int) -> pl.DataFrame:
    """One payload row: ``frame`` as Arrow IPC, tagged with its kind and input order."""
    return pl.DataFrame(
        {"_source": [source], "_start": [start], "_pos": [pos], "_kind": [kind]},
        schema={"_source": pl.Int32, "_start": pl.Int64, "_pos": pl.Int64, "_kind": pl.Utf8},
    ).with_columns(_payload=pl.lit(_ipc(frame), dtype=pl.Binary))


def _to_arrow(frame: pl.DataFrame) -> Iterator[pa.RecordBatch]:
    """Rows in :data:`_SCHEMA` (missing columns null) as Arrow batches for Spark."""
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(len(table), f.type)
        for f in _SCHEMA
    ]
    yield from pa.Table.from_arrays(columns, schema=_SCHEMA).to_batches()


def _block_rows(
    batch: RawBatch, index: int, start: int, keyring: Keyring, resolver: DomainResolver
) -> Iterator[pa.RecordBatch]:
    """One block of records through the local engine's code: its pseudonymised event rows
    with their input order, then its rejects, term hashes, name trigrams and counts."""
    rows, rejects, rejected, terms, given = process_batch(batch, index, 0, resolver, keyring)
    held = [rows]
    del rows
    events, names = pseudonymise(held, keyring)
    positions = pl.Series(batch.positions)
    events = events.select(
        *(pl.col(name).cast(dtype) for name, dtype in EVENT_SCHEMA.items()),
        pl.col("_source"),
        pl.lit(start, dtype=pl.Int64).alias("_start"),
        positions.gather(events["_seq"]).alias("_pos"),
    ).with_columns(pl.col(_UNSIGNED).list.eval(pl.element().reinterpret(signed=True)))
    first = int(batch.positions[0])
    stats = pl.DataFrame(
        {"records": [len(batch)], "rejected": [rejected], "fields": [sorted(given)]},
        schema={"records": pl.Int64, "rejected": pl.Int64, "fields": pl.List(pl.Utf8)},
    )
    payloads = [("stats", stats), ("rejects", rejects), ("names", names)]
    payloads.append(("terms", None if terms is None else terms.to_frame()))
    side = [_payload(k, f, index, start, first) for k, f in payloads if f is not None]
    yield from _to_arrow(pl.concat([events, *side], how="diagonal"))


def _local_path(uri: str) -> str:
    """The local path of a file URI as Spark names its inputs."""
    return unquote(urlparse(uri).path)


_LINES = pa.schema(
    [("line", pa.binary()), ("_source", pa.int32()), ("_start", pa.int64()), ("_pos", pa.int64())]
)
_LINES_DDL = ", ".join(f"`{f.name}` {_SPARK_TYPES[f.type]}" for f in _LINES)


def _runs(rb: pa.RecordBatch, names: Sequence[str]) -> Iterator[tuple[int, int]]:
    """(first, stop) of each run of rows with equal values in the columns ``names``."""
    n = len(rb)
    if n == 0:
        return
    changed = np.zeros(n - 1, dtype=bool)
    for name in names:
        column = rb.column(name)
        changed |= pc.not_equal(column.slice(1), column.slice(0, n - 1)).to_numpy(
            zero_copy_only=False
        )
    cuts = [0, *(np.flatnonzero(changed) + 1).tolist(), n]
    yield from itertools.pairwise(cuts)


def _number_lines(
    sources: Sequence[Source],
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The executor function numbering ``spark.read.text`` rows (``line``, ``path``,
    ``start``): each line with its source, split and 1-based line number in the split,
    and after a split's last line a row without a line whose ``_pos`` is the split's
    line count (for the line numbers of the file's later splits).

    A task's rows are its splits' lines in file order, one split after the other, so
    this is the one place that sees the order; the lines can go anywhere afterwards.
    A byte-order mark is dropped from a file's first line, as the local reader drops it.
    """
    index_of = {str(s.path.absolute()): i for i, s in enumerate(sources)}

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        split: tuple[str, int] | None = None
        source = seen = 0

        def end() -> pa.RecordBatch:
            assert split is not None
            columns = [pa.nulls(1, pa.binary()), [source], [split[1]], [seen]]
            return pa.RecordBatch.from_arrays(columns, schema=_LINES)

        for rb in batches:
            for first, stop in _runs(rb, ("path", "start")):
                key = (rb.column("path")[first].as_py(), rb.column("start")[first].as_py())
                if key != split:
                    if split is not None:
                        yield end()
                    split, source, seen = key, index_of[_local_path(key[0])], 0
                n = stop - first
                lines = rb.column("line").slice(first, n)
                if seen == 0 and key[1] == 0 and lines[0].as_py().startswith(_BOM):
                    head = pa.array([lines[0].as_py()[len(_BOM) :]], pa.binary())
                    lines = pa.concat_arrays([head, lines.slice(1)])
                numbers = pa.array(np.arange(seen + 1, seen + 1 + n, dtype=np.int64))
                seen += n
                yield pa.RecordBatch.from_arrays(
                    [lines, pa.repeat(source, n).cast(pa.int32()), pa.repeat(key[1], n), numbers],
                    schema=_LINES,
                )
        if split is not None:
            yield end()

    return run


def _jsonl_task(
    sources: Sequence[Source], keyring: Keyring, block_bytes: int
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The executor function over numbered lines (:func:`_number_lines`), in any order:
    the lines of one split are gathered into blocks of about ``block_bytes`` and parsed
    as the local reader parses a block (:func:`parse_block`), each line at its number."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        resolver = DomainResolver(keyring=keyring)
        parser = new_parser(threads=1)
        pending: dict[tuple[int, int], list[pa.RecordBatch]] = {}
        sizes: dict[tuple[int, int], int] = {}

        def flush(key: tuple[int, int]) -> Iterator[pa.RecordBatch]:
            block = pa.Table.from_batches(pending.pop(key))
            sizes.pop(key)
            data = b"\n".join(block.column("line").to_pylist())
            numbers = block.column("_pos").to_numpy()
            batch = parse_block(parser, sources[key[0]], data, numbers)
            if batch is not None:
                yield from _block_rows(batch, key[0], key[1], keyring, resolver)

        try:
            for rb in batches:
                for first, stop in _runs(rb, ("_source", "_start")):
                    part = rb.slice(first, stop - first)
                    key = (part.column("_source")[0].as_py(), part.column("_start")[0].as_py())
                    counts = part.filter(pc.is_null(part.column("line")))
                    for pos in counts.column("_pos").to_pylist():  # a split's line count
                        count = pl.DataFrame({"lines": [pos]})
                        yield from _to_arrow(_payload("lines", count, key[0], key[1], pos))
                    lines = part.filter(pc.is_valid(part.column("line")))
                    pending.setdefault(key, []).append(lines)
                    sizes[key] = sizes.get(key, 0) + lines.nbytes
                    if sizes[key] >= block_bytes:
                        yield from flush(key)
            for key in list(pending):
                yield from flush(key)
        finally:
            parser.close()

    return run


def _file_task(
    files: Sequence[Source], indices: Sequence[int], keyring: Keyring
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The executor function over rows ``id`` (a position in ``files``, whose source
    indices are ``indices``): each file read whole by its local reader, batch by batch."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        resolver = DomainResolver(keyring=keyring)
        for rb in batches:
            for i in rb.column("id").to_pylist():
                for batch in read_batches(files[i]):
                    yield from _block_rows(batch, indices[i], 0, keyring, resolver)

    return run


def _staged(
    session: SparkSession, sources: Sequence[Source], keyring: Keyring, block_bytes: int
) -> DataFrame:
    """Every source's blocks through the ingest tasks: event rows and payload rows."""
    from pyspark.sql import functions as F

    parts = []
    jsonl = [str(s.path.absolute()) for s in sources if s.format == "jsonl"]
    if jsonl:
        text = session.read.option("lineSep", "\n").text(jsonl)
        lines = text.select(
            F.col("value").cast("binary").alias("line"),
            F.col("_metadata.file_path").alias("path"),
            F.col("_metadata.file_block_start").alias("start"),
        ).mapInArrow(_number_lines(sources), _LINES_DDL)
        if lines.rdd.getNumPartitions() < session.sparkContext.defaultParallelism:
            # a gzip file is one split: spread runs of its lines over the cores
            chunk = F.floor(F.col("_pos") / _SPREAD_LINES)
            lines = lines.repartition("_source", "_start", chunk)
        parts.append(lines.mapInArrow(_jsonl_task(sources, keyring, block_bytes), _DDL))
    files = [i for i, s in enumerate(sources) if s.format != "jsonl"]
    if files:
        ids = session.range(0, len(files), 1, numPartitions=len(files))  # a task per file
        parts.append(ids.mapInArrow(_file_task([sources[i] for i in files], files, keyring), _DDL))
    staged = parts[0]
    for part in parts[1:]:
        staged = staged.unionByName(part)
    return staged


def _kept_events(staged: DataFrame) -> DataFrame:
    """The event rows without repeated ``event_id`` s (the first in input order wins),
    sorted by time, actor and input order, as the local engine sorts them."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    rows = staged.where(F.col("_kind").isNull()).drop("_kind", "_payload")
    first = Window.partitionBy("event_id").orderBy(*ORDER)
    repeats = (
        rows.where(F.col("event_id").isNotNull())
        .select("event_id", *ORDER)
        .withColumn("_n", F.row_number().over(first))
        .where(F.col("_n") > 1)
        .select(*ORDER)
    )
    n_repeats = repeats.count()
    if n_repeats:
        small = n_repeats <= _BROADCAST_REPEATS  # so the wide rows are not shuffled for it
        rows = rows.join(F.broadcast(repeats) if small else repeats, list(ORDER), "left_anti")
    return rows.orderBy("ts", "actor_id", *ORDER).drop("_start", "_pos")


def _read_events(folder: Path) -> pl.DataFrame:
    """The sorted event table the executors wrote, with ``_source``."""
    parts = sorted(folder.glob("*.parquet"))
    schema = {name: dtype for name, dtype in EVENT_SCHEMA.items()} | {"_source": pl.Int32()}
    if not parts:
        return pl.DataFrame(schema=schema)
    frame = pl.scan_parquet(parts).collect()
    return frame.select(
        pl.col(name).cast(pl.List(pl.Int64) if name == _UNSIGNED else dtype)
        for name, dtype in schema.items()
    ).with_columns(pl.col(_UNSIGNED).list.eval(pl.element().reinterpret(signed=False)))


def _frames(side: pl.DataFrame, kind: str) -> list[tuple[int, int, pl.DataFrame]]:
    """The payloads of one kind in input order: (source, split start, frame)."""
    rows = side.filter(pl.col("_kind") == kind).sort(ORDER)
    return [
        (source, start, pl.read_ipc(io.BytesIO(payload)))
        for source, start, payload in rows.select("_source", "_start", "_payload").iter_rows()
    ]


def _rejects(side: pl.DataFrame) -> pl.DataFrame:
    """Every block's rejects in input order, each at its line in the file: its line in
    the split plus the lines of the file's earlier splits."""
    lines = side.filter(pl.col("_kind") == "lines").select("_source", "_start", "_pos")
    before = lines.sort("_source", "_start").select(
        "_source",
        "_start",
        pl.col("_pos").cum_sum().shift(1, fill_value=0).over("_source").alias("_before"),
    )
    frames = [
        f.with_columns(_source=pl.lit(source, pl.Int32), _start=pl.lit(start, pl.Int64))
        for source, start, f in _frames(side, "rejects")
    ]
    if not frames:
        return empty_rejects()
    rejects = pl.concat(frames).join(before, on=["_source", "_start"], how="left")
    return rejects.sort("_source", "_start", "position").select(
        pl.col(name) + pl.col("_before").fill_null(0) if name == "position" else pl.col(name)
        for name in REJECT_SCHEMA
    )


@contextlib.contextmanager
def _input_errors() -> Iterator[None]:
    """A local reader's :class:`InputError` raised in a task, as that error here."""
    try:
        yield
    except Exception as exc:  # Spark wraps a task's error in its own exceptions
        marker = f"{InputError.__module__}.{InputError.__name__}: "
        lines = [line for line in str(exc).splitlines() if marker in line]
        if not lines:
            raise
        raise InputError(lines[-1].split(marker, 1)[1]) from exc


def spark_ingest(
    session: SparkSession,
    paths: Sequence[str | os.PathLike[str]],
    *,
    keyring: Keyring,
    work: WorkDir,
    max_reject_rate: float = 0.05,
    block_bytes: int = PARALLEL_BLOCK_BYTES,
) -> IngestResult:
    """:func:`ringscope.ingest.ingest` on the executors: the same events, rejects (sealed
    anew: a seal is randomised), counts, fields and content vectors.

    Raises:
        InputError: An input path is missing, of an unknown format, or unreadable.
        RejectRateExceeded: Too many records were rejected (the result attached).
    """
    started = time.perf_counter()
    sources = resolve_sources(paths)
    with _input_errors():
        staged_dir = work.write(_staged(session, sources, keyring, block_bytes), "ingest-staged")
        staged = session.read.parquet(str(staged_dir))
        events_dir = work.write(_kept_events(staged), "ingest-events")
    side = (
        pl.scan_parquet(sorted(staged_dir.glob("*.parquet")))
        .filter(pl.col("_kind").is_not_null())
        .select(*ORDER, "_kind", "_payload")
        .collect()
    )
    stats = pl.concat(
        [f.with_columns(_source=pl.lit(s, pl.Int32)) for s, _, f in _frames(side, "stats")]
        or [pl.DataFrame(schema={"records": pl.Int64, "rejected": pl.Int64, "_source": pl.Int32})],
        how="diagonal",
    )
    rejects = _rejects(side)
    names = [f for _, _, f in _frames(side, "names")]
    terms = [TermBatch.from_frame(f) for _, _, f in _frames(side, "terms")]
    del side  # the payloads are merged before the event table is read: a lower peak
    content = merge_terms(terms)
    del terms
    events = _read_events(events_dir)
    per_source = stats.group_by("_source").agg(pl.sum("records", "rejected"))
    records, rejected = [0] * len(sources), [0] * len(sources)
    for source, n, bad in per_source.iter_rows():
        records[source], rejected[source] = n, bad
    kept = dict(events.group_by("_source").len().iter_rows())
    duplicates = {
        i: records[i] - rejected[i] - kept.get(i, 0)
        for i in range(len(sources))
        if records[i] - rejected[i] > kept.get(i, 0)
    }
    events = events.drop("_source")
    fields = set(stats["fields"].explode().drop_nulls()) if "fields" in stats.columns else set()
    result = IngestResult(
        events=events,
        rejects=rejects,
        inputs=input_stats(sources, records, rejected, duplicates),
        duplicates=sum(duplicates.values()),
        names=_names(names, events),
        content=content,
        fields_given=fields,
    )
    return finish_ingest(result, max_reject_rate, started=started)


def _names(frames: list[pl.DataFrame], events: pl.DataFrame) -> pl.DataFrame | None:
    """Name trigrams per ``name_key`` of the kept events, from each block's (a name only a
    dropped repeat had is left out, as the local engine never sees it)."""
    if not frames or events.height == 0:
        return None
    names = pl.concat(frames).unique("name_key", keep="first", maintain_order=True)
    return names.join(events.select("name_key").unique(), on="name_key", how="semi")
