"""Write a world's events in the contract's input formats, plus its ``truth.json``.

Files are reproducible byte for byte: gzip headers carry no timestamp or name, records
are written in generation order, and JSON is produced by orjson without key sorting
surprises. Shards split every batch evenly, so each shard is itself in time order.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import multiprocessing as mp
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from ringscope.errors import ConfigError
from ringscope.lifetime import parent_watch
from ringscope.worlds.signups import write_signups
from ringscope.worlds.world import World

__all__ = ["FIELDS", "write_world"]

Format = Literal["jsonl", "csv", "parquet"]
Record = dict[str, object]

#: Columns of the CSV and Parquet outputs: the contract's fields plus ``channel``.
FIELDS = (
    "event_id",
    "ts",
    "actor_id",
    "event_type",
    "message_id",
    "recipients",
    "subject",
    "text",
    "urls",
    "ip",
    "device_id",
    "email",
    "phone",
    "display_name",
    "target_id",
    "reason",
    "channel",
)
_LIST_FIELDS = ("recipients", "urls")
_SUFFIX = {"jsonl": ".jsonl.gz", "csv": ".csv.gz", "parquet": ".parquet"}
_GZIP_LEVEL = 3


def _gzip(path: Path) -> IO[bytes]:
    raw = open(path, "wb")  # noqa: SIM115 - closed through the GzipFile below
    return gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=_GZIP_LEVEL, mtime=0)


class _Sink:
    """One output file of one format; takes payloads made by :func:`_payload`."""

    def __init__(self, path: Path, fmt: Format) -> None:
        self.fmt = fmt
        self._fh: IO[bytes] | None = None
        self._pq: Any = None
        if fmt == "parquet":
            import pyarrow.parquet as pq

            self._pq = pq.ParquetWriter(path, _schema(), compression="zstd")
        else:
            self._fh = _gzip(path)
            if fmt == "csv":
                self._fh.write(_csv_text([], header=True))

    def write(self, payload: bytes | dict[str, list[object]]) -> None:
        if self._pq is not None:
            assert isinstance(payload, dict)
            if payload["ts"]:
                import pyarrow as pa

                table = pa.Table.from_pydict(payload, schema=_schema())
                self._pq.write_table(table, row_group_size=max(1, table.num_rows))
        elif payload:
            assert self._fh is not None and isinstance(payload, bytes)
            self._fh.write(payload)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        if self._pq is not None:
            self._pq.close()


def _csv_text(recs: list[Record], *, header: bool = False) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, extrasaction="ignore", lineterminator="\n")
    if header:
        writer.writeheader()
    for rec in recs:
        row = dict(rec)
        for f in _LIST_FIELDS:
            v = row.get(f)
            if v is not None:
                row[f] = "|".join(v)  # type: ignore[arg-type]
        writer.writerow(row)
    return buf.getvalue().encode("utf-8")


def _schema() -> Any:
    """Arrow schema of the Parquet output (pyarrow is imported only when it is needed)."""
    import pyarrow as pa

    return pa.schema(
        [pa.field(f, pa.list_(pa.string()) if f in _LIST_FIELDS else pa.string()) for f in FIELDS]
    )


def _iso(ts: object) -> object:
    """Parquet keeps ``ts`` as one string column: epoch integers become ISO-8601 UTC."""
    if isinstance(ts, int):
        ms = ts if ts > 100_000_000_000 else ts * 1000
        return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ts


def _payload(recs: list[Record], fmt: Format) -> bytes | dict[str, list[object]]:
    """Serialise records for one sink: bytes for jsonl/csv, plain columns for parquet."""
    if fmt == "jsonl":
        return b"".join([orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in recs])
    if fmt == "csv":
        return _csv_text(recs)
    cols: dict[str, list[object]] = {f: [r.get(f) for r in recs] for f in FIELDS}
    cols["ts"] = [_iso(v) for v in cols["ts"]]
    return cols


def _split(recs: list[Record], parts: int) -> list[list[Record]]:
    n = len(recs)
    return [recs[i * n // parts : (i + 1) * n // parts] for i in range(parts)]


# The world a forked worker renders; set in the parent right before the pool forks.
_WORLD: World | None = None


def _render_task(
    task: tuple[str, int], fmt: Format, shards: int
) -> tuple[int, list[list[bytes | dict[str, list[object]]]]]:
    """Generate one task's batches and serialise them per shard (runs in a worker)."""
    assert _WORLD is not None
    n = 0
    out = []
    for batch in _WORLD.task_batches(task):
        n += len(batch)
        out.append([_payload(part, fmt) for part in _split(batch, shards)])
    return n, out


def _default_workers(world: World) -> int:
    if world.config.n_legit < 20_000 or "fork" not in mp.get_all_start_methods():
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _drain(
    results: Iterable[tuple[int, list[list[bytes | dict[str, list[object]]]]]], sinks: list[_Sink]
) -> int:
    n = 0
    for count, batches in results:
        n += count
        for parts in batches:
            for sink, payload in zip(sinks, parts, strict=True):
                sink.write(payload)
    return n


def write_world(
    world: World,
    out_dir: Path,
    *,
    fmt: Format = "jsonl",
    shards: int = 1,
    workers: int | None = None,
) -> list[Path]:
    """Generate and write a world's events and its ground truth.

    Args:
        world: a world from :func:`~ringscope.worlds.generate_world`.
        out_dir: directory to write into (created if missing).
        fmt: ``jsonl`` (gzip), ``csv`` (gzip, lists joined by ``|``) or ``parquet``
            (list columns; ``ts`` always ISO-8601 strings, as one column has one type).
        shards: number of event files; 1 writes ``events.<ext>``, more write
            ``events-000.<ext>``, ``events-001.<ext>``, ...
        workers: processes generating days in parallel (forked; the output is the same
            bytes for any count). ``None`` uses the available cores for worlds of 20k+
            legit accounts and 1 below that.

    Returns:
        The event files in shard order, then ``truth.json``.
    """
    if fmt not in _SUFFIX:
        raise ConfigError(f"unknown format {fmt!r}; choose one of {', '.join(_SUFFIX)}")
    if not isinstance(shards, int) or shards < 1:
        raise ConfigError(f"shards must be a positive integer, got {shards!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = _SUFFIX[fmt]
    names = (
        [f"events{suffix}"] if shards == 1 else [f"events-{i:03d}{suffix}" for i in range(shards)]
    )
    paths = [out_dir / name for name in names]
    if workers is None:
        workers = _default_workers(world)
    global _WORLD
    _WORLD = world
    pool = (
        mp.get_context("fork").Pool(workers, **parent_watch()) if workers > 1 else None
    )  # fork before opening files
    sinks: list[_Sink] = []
    try:
        sinks = [_Sink(p, fmt) for p in paths]
        if pool is None:
            results: Iterable[tuple[int, list[list[bytes | dict[str, list[object]]]]]] = (
                _render_task(task, fmt, shards) for task in world.tasks()
            )
        else:
            results = pool.imap(partial(_render_task, fmt=fmt, shards=shards), world.tasks())
        n_records = _drain(results, sinks)
    finally:
        _WORLD = None
        if pool is not None:
            pool.terminate()
            pool.join()
        for sink in sinks:
            sink.close()
    truth_path = out_dir / "truth.json"
    truth_path.write_text(json.dumps(world.truth(n_records=n_records), indent=1) + "\n")
    write_signups(world, out_dir)  # held-back signup attempts (repeat-offender check)
    return [*paths, truth_path]
