"""Read Parquet files: typed columns, list fields as list columns or ``|``-joined strings.

Types come from the file's schema, so a column of the wrong type makes every non-null
value in it a ``wrong_type`` reject. Timestamp and date columns are taken as UTC.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import orjson
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ringscope.errors import InputError
from ringscope.ingest.delimited import LIST_SEPARATOR
from ringscope.ingest.fields import (
    ERROR_COLUMN,
    FIELDS,
    LIST_FIELDS,
    Tag,
    raw_schema,
    type_column,
)
from ringscope.ingest.raw import LazyRecords, ProgressCallback, RawBatch
from ringscope.ingest.sources import Source

__all__ = ["read_parquet"]

DEFAULT_BATCH_ROWS = 200_000


class _Rows(LazyRecords):
    """Rows of a record batch as JSON bytes, made only when asked for (rejects)."""

    def __init__(self, batch: pa.RecordBatch) -> None:
        self._batch = batch

    def __len__(self) -> int:
        return self._batch.num_rows

    def _record(self, i: int) -> bytes:
        row = self._batch.slice(i, 1).to_pylist()[0]
        return orjson.dumps(row, default=str, option=orjson.OPT_NON_STR_KEYS)


def _tag_of(dtype: pa.DataType) -> str:
    """The type tag for every value of an Arrow column type."""
    if pa.types.is_dictionary(dtype):
        return _tag_of(dtype.value_type)
    if (
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_string_view(dtype)
    ):
        return Tag.STRING
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return Tag.NUMBER
    if pa.types.is_boolean(dtype):
        return Tag.BOOLEAN
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        return Tag.TIMESTAMP
    if (
        pa.types.is_list(dtype)
        or pa.types.is_large_list(dtype)
        or pa.types.is_fixed_size_list(dtype)
    ):
        item = dtype.value_type
        if pa.types.is_dictionary(item):
            item = item.value_type
        is_text = (
            pa.types.is_string(item) or pa.types.is_large_string(item) or pa.types.is_null(item)
        )
        return Tag.ARRAY if is_text else Tag.ARRAY_MIXED
    if pa.types.is_null(dtype):
        return Tag.NULL
    return Tag.OBJECT  # structs, maps, binary, ...: never a valid field value


def _as_text(column: pa.Array, tag: str) -> pa.Array:
    """Values of one column as text (list of text for lists), as validation expects."""
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if tag == Tag.TIMESTAMP:
        millis = column.cast(pa.timestamp("ms")) if pa.types.is_date(column.type) else column
        if pa.types.is_timestamp(millis.type):
            millis = millis.cast(pa.timestamp("ms", tz=millis.type.tz), safe=False)
        return millis.cast(pa.int64()).cast(pa.string())
    if tag in (Tag.ARRAY, Tag.ARRAY_MIXED):
        return (
            column.cast(pa.list_(pa.string()), safe=False)
            if tag == Tag.ARRAY
            else pa.nulls(len(column), pa.list_(pa.string()))
        )
    if tag in (Tag.STRING, Tag.NUMBER, Tag.BOOLEAN):
        return column.cast(pa.string())
    return pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())


def _field_columns(batch: pa.RecordBatch, field: str) -> tuple[pl.Series, pl.Series]:
    """Value and type-tag columns of one field in the reader layout."""
    n = batch.num_rows
    list_dtype = pl.List(pl.Utf8)
    dtype = list_dtype if field in LIST_FIELDS else pl.Utf8()
    index = batch.schema.get_field_index(field)
    if index < 0:
        return pl.Series(field, [None] * n, dtype=dtype), pl.Series([None] * n, dtype=pl.Utf8)
    column = batch.column(index)
    tag = _tag_of(column.type)
    text = _as_text(column, tag)
    if field in LIST_FIELDS and tag == Tag.STRING:  # a `|`-joined list
        text = pc.split_pattern(text, LIST_SEPARATOR)
        tag = Tag.ARRAY
    values = pl.Series(field, text)
    if field in LIST_FIELDS and values.dtype == pl.Utf8:
        values = pl.Series(field, [None] * n, dtype=list_dtype)
    elif field not in LIST_FIELDS and values.dtype != pl.Utf8:
        values = pl.Series(field, [None] * n, dtype=pl.Utf8)
    if values.dtype == list_dtype:
        values = values.list.eval(
            pl.element().str.strip_chars().filter(pl.element().str.strip_chars() != "")
        )
    present = pl.Series(column.is_valid())
    tags = pl.select(pl.when(present).then(pl.lit(tag))).to_series()
    return values, tags


def read_parquet(
    source: Source,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_progress: ProgressCallback | None = None,
) -> Iterator[RawBatch]:
    """Yield batches of records from a Parquet file; positions are 1-based row numbers."""
    try:
        parquet = pq.ParquetFile(source.path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{source.display}: not a readable Parquet file ({exc})") from exc
    first_row = 1
    total_rows = max(parquet.metadata.num_rows, 1)
    with parquet:
        for batch in parquet.iter_batches(batch_size=batch_rows):
            data: dict[str, pl.Series] = {
                ERROR_COLUMN: pl.Series(ERROR_COLUMN, [None] * batch.num_rows, dtype=pl.Utf8)
            }
            for field in FIELDS:
                values, tags = _field_columns(batch, field)
                data[field] = values.alias(field)
                data[type_column(field)] = tags.alias(type_column(field))
            frame = pl.DataFrame(data).select(pl.col(k).cast(v) for k, v in raw_schema().items())
            positions = np.arange(first_row, first_row + batch.num_rows, dtype=np.int64)
            first_row += batch.num_rows
            if on_progress is not None:
                on_progress(source.size * batch.num_rows // total_rows)
            yield RawBatch(
                source=source,
                positions=positions,
                fields=frame,
                raw=_Rows(batch),
                columns=tuple(batch.schema.names),
            )
