"""Read JSON Lines files fast: lines are found with numpy, parsed in bulk by DuckDB.

Each decompressed block is cut into lines by the positions of its newlines (numpy, no
per-line Python object), which keeps exact line numbers and lets a line with invalid
UTF-8 be rejected on its own. The lines become one zero-copy Arrow column; DuckDB
checks them all in one statement (``json_valid``), and the good ones are parsed by
DuckDB's JSON reader, which reports each known field's value and JSON type.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from ringscope.ingest.fields import (
    ERROR_COLUMN,
    FIELDS,
    LIST_FIELDS,
    STRING_FIELDS,
    Tag,
    raw_schema,
    type_column,
)
from ringscope.ingest.raw import (
    LazyRecords,
    ProgressCallback,
    RawBatch,
    decompressed_blocks,
    read_ahead,
)
from ringscope.ingest.sources import Source

__all__ = ["jsonl_blocks", "new_parser", "parse_block", "read_jsonl"]

log = logging.getLogger(__name__)

DEFAULT_BLOCK_BYTES = 32 << 20  # ~100k records of 300 bytes per batch
_BOM = b"\xef\xbb\xbf"
_NON_STRING_TYPES = "['BIGINT', 'UBIGINT', 'HUGEINT', 'DOUBLE', 'BOOLEAN', 'OBJECT', 'ARRAY']"

# Line-level problems; '' marks a blank line, which is skipped rather than rejected.
_CHECK_QUERY = """
    SELECT idx, err FROM (
        SELECT idx, CASE
            WHEN bad_utf8 THEN 'invalid_utf8'
            WHEN NOT json_valid(line) THEN
                CASE WHEN trim(line, e' \\t\\r\\n\\f\\v') = '' THEN '' ELSE 'malformed_json' END
            WHEN NOT starts_with(ltrim(line, e' \\t\\r\\n'), '{') THEN 'not_an_object'
        END AS err FROM lines
    ) WHERE err IS NOT NULL ORDER BY idx
"""


def _tag_sql(value: str) -> str:
    """SQL for the type tag of a value given as JSON text; null when the field is absent.

    The first character of a JSON value decides its type, which is far cheaper than
    parsing the value again.
    """
    return (
        f"CASE WHEN {value} IS NULL THEN NULL ELSE (CASE left({value}, 1) "
        f"WHEN '\"' THEN '{Tag.STRING}' WHEN '{{' THEN '{Tag.OBJECT}' "
        f"WHEN '[' THEN '{Tag.ARRAY}' WHEN 't' THEN '{Tag.BOOLEAN}' "
        f"WHEN 'f' THEN '{Tag.BOOLEAN}' WHEN 'n' THEN '{Tag.NULL}' "
        f"ELSE '{Tag.NUMBER}' END) END"
    )


def _string_sql(value: str) -> str:
    """SQL for a JSON string's text (unescaped), or the JSON text of any other value."""
    return (
        f"CASE WHEN left({value}, 1) <> '\"' THEN {value}::VARCHAR "
        f"WHEN contains({value}, '\\') THEN json_extract_string({value}, '$') "
        f"ELSE ({value}::VARCHAR)[2:-2] END"
    )


def _projection(relation: str) -> str:
    """SELECT list turning one JSON column per field into the reader layout."""
    columns = []
    for f in FIELDS:
        v = f'{relation}."{f}"'
        if f in LIST_FIELDS:
            is_array = f"left({v}, 1) = '['"
            columns.append(
                f"CASE WHEN {is_array} THEN json_extract_string({v}, '$[*]') END AS \"{f}\""
            )
            columns.append(
                f"CASE WHEN {is_array} THEN (CASE WHEN list_has_any(json_type({v}, '$[*]'), "
                f"{_NON_STRING_TYPES}) THEN '{Tag.ARRAY_MIXED}' ELSE '{Tag.ARRAY}' END) "
                f'ELSE {_tag_sql(v)} END AS "{type_column(f)}"'
            )
        else:
            columns.append(f'{_string_sql(v)} AS "{f}"')
            columns.append(f'{_tag_sql(v)} AS "{type_column(f)}"')
    return ", ".join(columns)


_JSON_COLUMNS = "{" + ", ".join(f"'{f}': 'JSON'" for f in FIELDS) + "}"
_STRUCT = "{" + ", ".join(f'"{f}": "JSON"' for f in FIELDS) + "}"
_PROJECTION = _projection("r")

# Fast path: DuckDB's reader converts straight to text (strings unescaped, lists as
# lists of text), which costs a fraction of returning every value as JSON. It also
# turns a number, boolean or object given for a string field into text, so values
# that could have come from such a non-string (see _LOOKS_NON_STRING) are re-checked
# against the line with json_type. A list field holding a non-list makes the reader
# fail, and the block then takes the all-JSON path.
_TYPED_COLUMNS = (
    "{"
    + ", ".join(
        f"'{f}': " + ("'JSON'" if f == "ts" else "'VARCHAR[]'" if f in LIST_FIELDS else "'VARCHAR'")
        for f in FIELDS
    )
    + "}"
)
_TYPED_PROJECTION = ", ".join(
    [f"{_string_sql('r.ts')} AS ts", f"{_tag_sql('r.ts')} AS {type_column('ts')}"]
    + [f'r."{f}"' for f in FIELDS if f != "ts"]
)
_LOOKS_NON_STRING = (
    r"^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false"
    r"|(?i:-?inf(?:inity)?|nan)|[\[{].*)$"
)
_CHECKED_FIELDS = tuple(f for f in FIELDS if f != "ts")
_TYPE_TAGS = {
    "VARCHAR": Tag.STRING,
    "BIGINT": Tag.NUMBER,
    "UBIGINT": Tag.NUMBER,
    "HUGEINT": Tag.NUMBER,
    "DOUBLE": Tag.NUMBER,
    "BOOLEAN": Tag.BOOLEAN,
    "OBJECT": Tag.OBJECT,
    "ARRAY": Tag.ARRAY,
    "NULL": Tag.NULL,
}
_ITEM_CHECKS = ", ".join(
    f"list_has_any(json_type(line, '$.{f}[*]'), {_NON_STRING_TYPES}) AS {f}" for f in LIST_FIELDS
)
_TYPES_QUERY = (
    f"SELECT idx, json_type(line, [{', '.join(repr('$.' + f) for f in _CHECKED_FIELDS)}]) "
    f"AS types, {_ITEM_CHECKS} FROM lines SEMI JOIN suspects USING (idx) ORDER BY idx"
)


def _read_query(path: Path, *, typed: bool) -> str:
    """Parse a file of good lines with DuckDB's JSON reader."""
    literal = str(path).replace("'", "''")
    columns, projection = (
        (_TYPED_COLUMNS, _TYPED_PROJECTION) if typed else (_JSON_COLUMNS, _PROJECTION)
    )
    return (
        f"SELECT {projection} FROM read_json('{literal}', format = 'newline_delimited', "
        f"records = true, columns = {columns}) r"
    )


def _with_tags(frame: pl.DataFrame) -> pl.DataFrame:
    """Type tags for the typed fast path: a present value is a string (or list of them)."""
    return frame.with_columns(
        pl.when(pl.col(f).is_not_null())
        .then(pl.lit(Tag.ARRAY if f in LIST_FIELDS else Tag.STRING))
        .alias(type_column(f))
        for f in _CHECKED_FIELDS
    )


def _suspects(frame: pl.DataFrame) -> pl.Series:
    """Rows where some text value may have been a JSON non-string in the line."""
    checks = [pl.col(f).str.contains(_LOOKS_NON_STRING) for f in STRING_FIELDS]
    checks += [
        pl.col(f).list.eval(pl.element().str.contains(_LOOKS_NON_STRING)).list.any()
        for f in LIST_FIELDS
    ]
    return frame.select(pl.any_horizontal(checks).fill_null(False)).to_series()


# The slow path, for a batch the JSON reader refuses: parse the good lines one by one.
_FALLBACK_QUERY = f"""
    SELECT {_PROJECTION} FROM (
        SELECT from_json(line, '{_STRUCT}') AS r FROM lines WHERE idx IN (SELECT unnest($good))
        ORDER BY idx
    )
"""


class _Lines(LazyRecords):
    """Lines of one block as views into it; bytes are made only on access."""

    def __init__(self, data: memoryview, starts: np.ndarray, ends: np.ndarray) -> None:
        self._data = data
        self._starts = starts
        self._ends = ends

    def __len__(self) -> int:
        return len(self._starts)

    def _record(self, i: int) -> bytes:
        return bytes(self._data[int(self._starts[i]) : int(self._ends[i])])


def _split_lines(data: memoryview) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive, before ``\\r\\n`` or ``\\n``) of every line in ``data``."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.empty(len(newlines) + 1, dtype=np.int64)
    starts[0] = 0
    starts[1:] = newlines + 1
    ends = np.append(newlines, len(buf)).astype(np.int64)
    if starts[-1] == len(buf):  # the block ends with a newline: no last partial line
        starts, ends = starts[:-1], ends[:-1]
    has_cr = ends > starts
    has_cr[has_cr] = buf[ends[has_cr] - 1] == 13
    ends -= has_cr
    return starts, ends


def _utf8_column(
    data: memoryview, starts: np.ndarray, ends: np.ndarray
) -> tuple[pa.Array, np.ndarray]:
    """Lines as a zero-copy Arrow string column, and a mask of lines that are not UTF-8.

    Each value runs from its line's start to the next line's start (newline included,
    which JSON treats as whitespace), so the offsets are the line starts.
    """
    offsets = np.append(starts, len(data)).astype(np.int64)
    buffer = pa.py_buffer(data)
    binary = pa.Array.from_buffers(
        pa.large_binary(), len(starts), [None, pa.py_buffer(offsets), buffer]
    )
    bad = np.zeros(len(starts), dtype=bool)
    try:
        return binary.cast(pa.large_string()), bad
    except pa.ArrowInvalid:  # rare: find the offending lines one by one
        for i in range(len(starts)):
            try:
                bytes(data[starts[i] : ends[i]]).decode("utf-8")
            except UnicodeDecodeError:
                bad[i] = True
        values = [b"" if b else bytes(data[s:e]) for b, s, e in zip(bad, starts, ends, strict=True)]
        return pa.array(values, type=pa.large_binary()).cast(pa.large_string()), bad


@contextlib.contextmanager
def _scratch_file(write: Callable[[BinaryIO], None]) -> Iterator[Path]:
    """A private scratch file holding what ``write`` wrote, gone when the block ends.

    The lines hold personal data, so the file must not outlive its use even if the
    process is killed: on Linux its name is removed right after writing and DuckDB
    reads it through ``/proc/self/fd``, so the kernel frees it when the process ends.
    Elsewhere it is removed on exit from the block.
    """
    fd, name = tempfile.mkstemp(prefix="ringscope-", suffix=".jsonl", dir=_scratch_root())
    try:
        with os.fdopen(os.dup(fd), "wb") as out:
            write(out)
        proc_path = Path(f"/proc/self/fd/{fd}")
        if proc_path.exists():
            os.unlink(name)
            yield proc_path
        else:
            yield Path(name)
    finally:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


class _Parser:
    """A DuckDB connection that parses blocks of lines."""

    def __init__(self, threads: int | None = None) -> None:
        threads = threads or max(1, os.cpu_count() or 1)
        self._con = duckdb.connect(config={"threads": threads})

    def close(self) -> None:
        """Release the connection."""
        self._con.close()

    def parse(self, data: memoryview) -> tuple[np.ndarray, pl.DataFrame, _Lines]:
        """Parse one block of whole lines.

        Returns:
            The 0-based line index (within the block) of every record (blank lines
            dropped), the records in the reader layout, and their raw bytes.
        """
        starts, ends = _split_lines(data)
        text, bad_utf8 = _utf8_column(data, starts, ends)
        lines = pa.table(
            {
                "idx": pa.array(np.arange(len(starts), dtype=np.int64)),
                "line": text,
                "bad_utf8": bad_utf8,
            }
        )
        self._con.register("lines", lines)
        try:
            problems = pl.from_arrow(self._con.sql(_CHECK_QUERY).to_arrow_table())
            assert isinstance(problems, pl.DataFrame)
            good = np.ones(len(starts), dtype=bool)
            good[problems["idx"].to_numpy()] = False
            good_idx = np.flatnonzero(good)
            parsed = self._parse_good(data, starts, ends, good, good_idx)
        finally:
            self._con.unregister("lines")
        parsed = parsed.with_columns(idx=pl.Series(good_idx, dtype=pl.Int64))
        errors = problems.filter(pl.col("err") != "").rename({"err": ERROR_COLUMN})
        frame = pl.concat([parsed, errors], how="diagonal_relaxed").sort("idx")
        idx = frame["idx"].to_numpy()
        frame = frame.select(pl.col(name).cast(dtype) for name, dtype in raw_schema().items())
        return idx, frame, _Lines(data, starts[idx], ends[idx])

    def _parse_good(
        self,
        data: memoryview,
        starts: np.ndarray,
        ends: np.ndarray,
        good: np.ndarray,
        good_idx: np.ndarray,
    ) -> pl.DataFrame:
        """Fields of the lines that are JSON objects, in line order."""
        if len(good_idx) == 0:
            return pl.DataFrame(schema={k: v for k, v in raw_schema().items() if k != ERROR_COLUMN})

        def write(out: BinaryIO) -> None:
            if len(good_idx) == len(starts):
                out.write(data)
            else:  # copy the runs of good lines
                edges = np.flatnonzero(
                    np.diff(np.concatenate(([False], good, [False])).astype(np.int8))
                )
                for first, stop in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
                    out.write(data[starts[first] : ends[stop - 1]])
                    out.write(b"\n")
            if len(data) and data[-1] != 10:
                out.write(b"\n")

        with _scratch_file(write) as scratch:
            return self._read_good(scratch, good_idx)

    def _read_good(self, scratch: Path, good_idx: np.ndarray) -> pl.DataFrame:
        """Parse the scratch file of good lines: typed fast path, then the JSON paths."""
        try:
            table = self._con.sql(_read_query(scratch, typed=True)).to_arrow_table()
            if table.num_rows != len(good_idx):
                raise duckdb.Error(f"read {table.num_rows} records from {len(good_idx)} lines")
            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            return self._check_types(_with_tags(frame), good_idx)
        except duckdb.Error as exc:
            log.debug("typed JSON read refused a block (%s); reading it as JSON", exc)
        try:
            table = self._con.sql(_read_query(scratch, typed=False)).to_arrow_table()
            if table.num_rows != len(good_idx):
                raise duckdb.Error(f"read {table.num_rows} records from {len(good_idx)} lines")
        except duckdb.Error as exc:
            log.debug("JSON reader refused a block (%s); parsing it line by line", exc)
            table = self._con.execute(_FALLBACK_QUERY, {"good": good_idx.tolist()}).to_arrow_table()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame

    def _check_types(self, frame: pl.DataFrame, good_idx: np.ndarray) -> pl.DataFrame:
        """Fix the type tags of suspect rows from the JSON types in their lines."""
        rows = _suspects(frame).arg_true()
        if len(rows) == 0:
            return frame
        self._con.register("suspects", pa.table({"idx": pa.array(good_idx[rows.to_numpy()])}))
        try:
            found = pl.from_arrow(self._con.sql(_TYPES_QUERY).to_arrow_table())
        finally:
            self._con.unregister("suspects")
        assert isinstance(found, pl.DataFrame)
        types = found.select(
            *[
                pl.when(pl.col("types").list.get(i).is_not_null())
                .then(
                    pl.col("types")
                    .list.get(i)
                    .replace_strict(_TYPE_TAGS, default=Tag.OBJECT, return_dtype=pl.Utf8)
                )
                .alias(f)
                for i, f in enumerate(_CHECKED_FIELDS)
            ],
            *[pl.col(f).alias(f"{f}_mixed") for f in LIST_FIELDS],
        )
        updates = []
        for f in _CHECKED_FIELDS:
            tag = types[f]
            if f in LIST_FIELDS:
                mixed = types[f"{f}_mixed"].fill_null(False)
                tag = pl.select(
                    pl.when((tag == Tag.ARRAY) & mixed).then(pl.lit(Tag.ARRAY_MIXED)).otherwise(tag)
                ).to_series()
            tag = pl.select(pl.when(tag != Tag.NULL).then(tag)).to_series()  # null = absent
            updates.append(frame[type_column(f)].scatter(rows, tag))
        return frame.with_columns(updates)


def jsonl_blocks(
    source: Source,
    *,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    on_progress: ProgressCallback | None = None,
) -> Iterator[tuple[memoryview, int]]:
    """Blocks of whole lines of a JSON Lines file, each with the number of its first line.

    A leading byte-order mark is dropped. Decompression runs ahead in a thread.
    """
    blocks = read_ahead(
        decompressed_blocks(source, block_bytes=block_bytes, on_progress=on_progress, align=b"\n")
    )
    try:
        first_line = 1
        for i, block in enumerate(blocks):
            data = block
            if i == 0 and bytes(data[:3]) == _BOM:
                data = data[3:]
            yield data, first_line
            first_line += int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == 10))
    finally:
        blocks.close()  # type: ignore[attr-defined]


def new_parser(threads: int | None = None) -> _Parser:
    """A parser for :func:`parse_block` (one DuckDB connection); close it when done."""
    return _Parser(threads)


def parse_block(
    parser: _Parser, source: Source, data: memoryview | bytes, first_line: int | np.ndarray
) -> RawBatch | None:
    """The records of one block from :func:`jsonl_blocks` (None if it holds none).

    ``first_line`` is the line number of the block's first line, or an array of every
    line's number, for a block of lines gathered from anywhere in the file.
    """
    idx, fields, raw = parser.parse(memoryview(data))
    if not len(idx):
        return None
    positions = idx + first_line if isinstance(first_line, int) else first_line[idx]
    return RawBatch(source=source, positions=positions, fields=fields, raw=raw)


def read_jsonl(
    source: Source,
    *,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    on_progress: ProgressCallback | None = None,
) -> Iterator[RawBatch]:
    """Yield batches of records from a JSON Lines file (optionally gzip-compressed).

    Blank and whitespace-only lines are skipped but counted, so positions are the
    1-based line numbers of the decompressed text. A line that is not UTF-8, not JSON
    or not a JSON object gets a record-level error code instead of fields.
    """
    blocks = jsonl_blocks(source, block_bytes=block_bytes, on_progress=on_progress)
    with contextlib.ExitStack() as stack:
        stack.callback(blocks.close)
        parser = _Parser()
        stack.callback(parser.close)
        for data, first_line in blocks:
            batch = parse_block(parser, source, data, first_line)
            if batch is not None:
                yield batch


def _scratch_root() -> str | None:
    """A RAM-backed folder for scratch files where there is one, else the default."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
