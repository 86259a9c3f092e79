"""Read CSV files (header row, UTF-8, list fields joined by ``|``).

Python's csv module parses the rows; a row may span several lines when a quoted value
holds a newline, and its position is the line it starts on. CSV has no types, so every
present value is a string; empty cells are absent values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import numpy as np
import polars as pl

from ringscope.errors import InputError
from ringscope.ingest.fields import (
    ERROR_COLUMN,
    FIELDS,
    LIST_FIELDS,
    Tag,
    raw_schema,
    type_column,
)
from ringscope.ingest.raw import ProgressCallback, RawBatch, decompressed_blocks
from ringscope.ingest.sources import Source

__all__ = ["LIST_SEPARATOR", "read_csv"]

LIST_SEPARATOR = "|"
DEFAULT_BATCH_ROWS = 100_000
_BLOCK_BYTES = 8 << 20


class _TextLines:
    """Decoded lines of a byte stream that remember the lines the csv reader took."""

    def __init__(self, blocks: Iterator[memoryview]) -> None:
        self._blocks = blocks
        self._pending: list[str] = []
        self.taken: list[str] = []
        self.lines_read = 0

    def __iter__(self) -> Iterator[str]:
        rest = b""
        first = True
        for block in self._blocks:
            data = rest + bytes(block)
            if first:
                data = data.removeprefix(b"\xef\xbb\xbf")
                first = False
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            text = data[:cut].decode("utf-8", errors="surrogateescape")
            for line in io.StringIO(text, newline=""):
                self.lines_read += 1
                self.taken.append(line)
                yield line
        if rest:
            self.lines_read += 1
            line = rest.decode("utf-8", errors="surrogateescape")
            self.taken.append(line)
            yield line


def _is_blank(row: list[str]) -> bool:
    """A row that came from an empty or whitespace-only line."""
    return len(row) <= 1 and (not row or not row[0].strip())


def _batch(
    source: Source,
    header: tuple[str, ...],
    positions: list[int],
    rows: list[list[str] | None],
    errors: list[str | None],
    raw: list[bytes],
) -> RawBatch:
    """Turn parsed rows into the reader layout (values as strings, lists split)."""
    n = len(rows)
    columns: dict[str, list[str | None]] = {name: [None] * n for name in header}
    for i, row in enumerate(rows):
        if row is not None:
            for name, value in zip(header, row, strict=True):
                columns[name][i] = value
    data: dict[str, pl.Series] = {ERROR_COLUMN: pl.Series(ERROR_COLUMN, errors, dtype=pl.Utf8)}
    for field in FIELDS:
        values = pl.Series(field, columns.get(field, [None] * n), dtype=pl.Utf8)
        present = values.str.strip_chars().str.len_bytes() > 0
        if field in LIST_FIELDS:
            items = values.str.split(LIST_SEPARATOR).list.eval(
                pl.element().str.strip_chars().filter(pl.element().str.strip_chars() != "")
            )
            data[field] = pl.select(pl.when(present).then(items)).to_series().alias(field)
            tag = Tag.ARRAY
        else:
            data[field] = values
            tag = Tag.STRING
        data[type_column(field)] = (
            pl.select(pl.when(present).then(pl.lit(tag))).to_series().alias(type_column(field))
        )
    frame = pl.DataFrame(data).select(pl.col(k).cast(v) for k, v in raw_schema().items())
    return RawBatch(
        source=source,
        positions=np.asarray(positions, dtype=np.int64),
        fields=frame,
        raw=raw,
        header=header,
        columns=header,
    )


def read_csv(
    source: Source,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_progress: ProgressCallback | None = None,
) -> Iterator[RawBatch]:
    """Yield batches of records from a CSV file with a header row.

    Rows whose number of cells differs from the header's get ``csv_column_count``;
    rows with bytes that are not UTF-8 get ``invalid_utf8``. Blank lines are skipped.
    """
    lines = _TextLines(
        decompressed_blocks(source, block_bytes=_BLOCK_BYTES, on_progress=on_progress)
    )
    reader = csv.reader(iter(lines), strict=False)
    header: tuple[str, ...] | None = None
    positions: list[int] = []
    rows: list[list[str] | None] = []
    errors: list[str | None] = []
    raw: list[bytes] = []
    while True:
        lines.taken.clear()
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:  # e.g. a NUL byte; keep the record as a column-count reject
            row = None
        text = "".join(lines.taken)
        start = lines.lines_read - len(lines.taken) + 1
        if row is not None and _is_blank(row):
            continue
        try:
            record = text.rstrip("\r\n").encode("utf-8")
            error: str | None = None
        except UnicodeEncodeError:
            record = text.rstrip("\r\n").encode("utf-8", errors="surrogateescape")
            error = "invalid_utf8"
        if header is None:
            if row is None or error:
                raise InputError(f"{source.display}: line {start}: unreadable CSV header row")
            header = tuple(name.strip() for name in row)
            continue
        if error is None and (row is None or len(row) != len(header)):
            error = "csv_column_count"
        positions.append(start)
        rows.append(row if error is None else None)
        errors.append(error)
        raw.append(record)
        if len(rows) >= batch_rows:
            yield _batch(source, header, positions, rows, errors, raw)
            positions, rows, errors, raw = [], [], [], []
    if rows and header is not None:
        yield _batch(source, header, positions, rows, errors, raw)
