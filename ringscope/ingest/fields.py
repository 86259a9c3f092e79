"""The input fields of the event contract and the type tags readers report for them.

Every reader turns its format into one column layout so that validation is written
once: for each known field ``f`` a column ``f`` with the value as text (a list of text
for list fields) and a column ``f__t`` with the JSON type the value had in the input.
A null ``f__t`` means the field was absent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import polars as pl

__all__ = [
    "ERROR_COLUMN",
    "FIELDS",
    "IDENTIFIER_FIELDS",
    "LIST_FIELDS",
    "PII_FIELDS",
    "STRING_FIELDS",
    "UNUSED_FIELDS",
    "Tag",
    "batch_fields",
    "empty_fields",
    "raw_schema",
    "type_column",
]

#: Scalar string fields, in the order validation checks them after ``ts``.
STRING_FIELDS = (
    "actor_id",
    "event_type",
    "event_id",
    "message_id",
    "target_id",
    "subject",
    "text",
    "ip",
    "device_id",
    "email",
    "phone",
    "display_name",
    "reason",
)
#: Fields holding a list of strings (``traits``: short structural/header facts of a
#: message, e.g. ``html_only`` or ``received:3``; see README "Message traits").
LIST_FIELDS = ("recipients", "urls", "object_ids", "traits")
#: All known fields, in the order validation reports the first problem.
FIELDS = ("ts", *STRING_FIELDS[:5], *LIST_FIELDS, *STRING_FIELDS[5:])
#: Known fields that are checked but used by no step (free text of reports and
#: suspensions): named as present but unused when an input gives them.
UNUSED_FIELDS = frozenset({"reason"})
#: Fields whose values are personal data and never shown in a reject preview.
PII_FIELDS = frozenset({"text", "subject", "display_name", "email", "phone", "ip"})
#: Fields whose values identify a person, an account, a device, a message or a thing
#: acted on: a reject preview never shows them. Extend this when the contract gains one.
IDENTIFIER_FIELDS = PII_FIELDS | frozenset(
    {
        "actor_id",
        "event_id",
        "message_id",
        "target_id",
        "recipients",
        "urls",
        "device_id",
        "object_ids",
    }
)

#: Column with a record-level reject code set by the reader (unparseable record).
ERROR_COLUMN = "_error"


class Tag:
    """Type tags a reader reports in ``<field>__t`` (JSON's types plus two extras)."""

    STRING = "string"
    NUMBER = "number"  # the value is the number's text; only ``ts`` may be one
    BOOLEAN = "boolean"
    NULL = "null"
    OBJECT = "object"
    ARRAY = "array"  # a list whose items are all strings (or null)
    ARRAY_MIXED = "array_mixed"  # a list with a non-string item
    TIMESTAMP = "timestamp"  # a typed timestamp column; the value is epoch milliseconds


def batch_fields(
    fields: pl.DataFrame, columns: tuple[str, ...] | None, raw: Sequence[bytes], sample: int = 200
) -> set[str]:
    """Names of the fields a batch gives: known fields with a value in any record, plus
    the file's other columns (or, for JSONL, the keys of its first ``sample`` records)."""
    given = {f for f in FIELDS if fields[type_column(f)].is_not_null().any()}
    if columns is not None:
        return given | set(columns)
    for record in raw[:sample]:
        try:
            value = json.loads(record)
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(value, dict):
            given |= set(value)
    return given


def type_column(field: str) -> str:
    """Name of the column holding the type tag of ``field``."""
    return f"{field}__t"


def raw_schema() -> dict[str, pl.DataType]:
    """Schema of the reader output every validator call receives."""
    schema: dict[str, pl.DataType] = {ERROR_COLUMN: pl.Utf8()}
    for field in FIELDS:
        schema[field] = pl.List(pl.Utf8()) if field in LIST_FIELDS else pl.Utf8()
        schema[type_column(field)] = pl.Utf8()
    return schema


def empty_fields(height: int) -> pl.DataFrame:
    """An all-absent reader output of ``height`` rows, to fill in column by column."""
    return pl.DataFrame(
        {
            name: pl.Series(name, [None] * height, dtype=dtype)
            for name, dtype in raw_schema().items()
        }
    )
