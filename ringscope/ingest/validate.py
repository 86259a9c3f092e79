"""Check records against the input contract: typed columns, or a fixed reject code.

Reject codes are ``code`` or ``code: field``:

- ``invalid_utf8``, ``malformed_json``, ``not_an_object``, ``csv_column_count``: the
  record could not be read at all (set by the reader);
- ``missing_field: <f>``: a required field is absent, null or empty (``ts``,
  ``actor_id``, ``event_type``; ``message_id`` for messages; ``target_id`` for reports);
- ``wrong_type: <f>``: a field has the wrong JSON type (a number as ``actor_id``, a
  list that is not a list of strings, a boolean or an object as ``ts``...);
- ``bad_timestamp``: ``ts`` is neither ISO-8601 nor an epoch, or out of range;
- ``invalid_ip``: ``ip`` is not an IPv4 or IPv6 address;
- ``invalid_url``, ``invalid_object_id``, ``invalid_target_id``: a link without a valid
  host, or a link, object id or target id with a control character (object ids: also
  white space; links may hold tabs and line breaks, which are removed) inside or longer
  than :data:`objects.MAX_ITEM_CHARS`.

A record gets the first failing check, in the order of :data:`fields.FIELDS`.
"""

from __future__ import annotations

import polars as pl

from ringscope.ingest.fields import (
    ERROR_COLUMN,
    FIELDS,
    LIST_FIELDS,
    STRING_FIELDS,
    Tag,
    type_column,
)
from ringscope.ingest.normalize import map_distinct, normalize_ip_column
from ringscope.ingest.objects import URL_CONTROL, bad_items, bad_scalar, normalize_url
from ringscope.ingest.timestamps import parse_timestamps

__all__ = ["REASON_CODES", "REASON_COLUMN", "REQUIRED_FIELDS", "validate"]

#: Output column with the reject code of each row (null when accepted).
REASON_COLUMN = "_reason"

REQUIRED_FIELDS = ("ts", "actor_id", "event_type")
#: Fields required only for one event type.
CONDITIONAL_FIELDS = {"message_id": "message", "target_id": "report"}
#: Every reject code (without the field part).
REASON_CODES = (
    "invalid_utf8",
    "malformed_json",
    "not_an_object",
    "csv_column_count",
    "missing_field",
    "wrong_type",
    "bad_timestamp",
    "invalid_ip",
    "invalid_url",
    "invalid_object_id",
    "invalid_target_id",
)
#: Extra reject check per field, after its type check: (code, bad-value expression).
_VALUE_CHECKS = {
    "urls": "invalid_url",
    "object_ids": "invalid_object_id",
    "target_id": "invalid_target_id",
}


def _absent(field: str) -> pl.Expr:
    """The field is missing, JSON null, or an empty / whitespace-only string."""
    tag = pl.col(type_column(field))
    absent = tag.is_null() | (tag == Tag.NULL)
    if field not in LIST_FIELDS:
        absent = absent | ((tag == Tag.STRING) & (pl.col(field).str.strip_chars() == ""))
    return absent


def _clean_items(field: str) -> pl.Expr:
    """List items stripped, with null and empty items dropped."""
    item = pl.element().str.strip_chars()
    return pl.col(field).list.eval(item.filter(item.is_not_null() & (item != "")))


def _normalized_urls(urls: pl.Series) -> pl.Series:
    """Each row's links normalised (:func:`objects.normalize_url`), once per distinct link.

    A link without a host becomes null in its list (the record is then rejected).
    """
    exploded = pl.DataFrame({"url": urls}).with_row_index("row").explode("url", empty_as_null=True)
    exploded = exploded.with_columns(
        norm=map_distinct(exploded["url"].str.strip_chars(), lambda u: normalize_url(u) or "")
    )
    grouped = exploded.group_by("row", maintain_order=True).agg(
        pl.when(pl.col("url").str.strip_chars() != "").then(pl.col("norm")).drop_nulls()
    )
    return grouped.select(
        pl.when(urls.is_not_null()).then(pl.col("norm").list.eval(pl.element().replace("", None)))
    ).to_series()


def validate(fields: pl.DataFrame) -> pl.DataFrame:
    """Validate a batch in the reader layout and return typed columns plus ``_reason``.

    Returns:
        One row per input row: ``_reason`` (null when the record is accepted), ``ts``
        (epoch ms UTC), every string field stripped (empty as null; ``event_type``
        lower-cased), list fields with empty items dropped, and ``ip`` canonical with
        its ``subnet``, and ``url_keys``: the links normalised (:mod:`objects`). Values of
        rejected rows are meaningless.
    """
    tag = {f: pl.col(type_column(f)) for f in FIELDS}
    # Materialise shared intermediate columns once (an expression used twice in one
    # select is computed twice).
    ip = normalize_ip_column(fields["ip"].str.strip_chars())
    frame = fields.with_columns(
        parse_timestamps(fields["ts"], fields[type_column("ts")]).alias("_ts_ms"),
        ip["ip"].alias("_ip"),
        ip["subnet"].alias("_subnet"),
        pl.col("event_type").str.strip_chars().str.to_lowercase(),
        *[_absent(f).alias(f"_absent_{f}") for f in FIELDS],
        _normalized_urls(fields["urls"]).alias("_url_keys"),
    )
    absent = {f: pl.col(f"_absent_{f}") for f in FIELDS}
    ts_ok_type = tag["ts"].is_in([Tag.STRING, Tag.TIMESTAMP, Tag.NUMBER])
    bad_value = {
        "urls": bad_items(_clean_items("urls"), URL_CONTROL)
        | pl.col("_url_keys").list.contains(None),
        "object_ids": bad_items(_clean_items("object_ids")),
        "target_id": bad_scalar(pl.col("target_id").str.strip_chars()),
    }
    checks: list[tuple[pl.Expr, str]] = [
        (pl.col(ERROR_COLUMN).is_not_null(), ""),  # the reader's code, used as is
        (absent["ts"], "missing_field: ts"),
        (~ts_ok_type, "wrong_type: ts"),
        (pl.col("_ts_ms").is_null(), "bad_timestamp"),
    ]
    for f in FIELDS[1:]:
        expected = Tag.ARRAY if f in LIST_FIELDS else Tag.STRING
        if f in REQUIRED_FIELDS:
            checks.append((absent[f], f"missing_field: {f}"))
        elif f in CONDITIONAL_FIELDS:
            needed = pl.col("event_type") == CONDITIONAL_FIELDS[f]
            checks.append((needed & absent[f], f"missing_field: {f}"))
        checks.append((~absent[f] & (tag[f] != expected), f"wrong_type: {f}"))
        if f == "ip":
            checks.append((~absent[f] & pl.col("_ip").is_null(), "invalid_ip"))
        if f in _VALUE_CHECKS:
            checks.append((~absent[f] & bad_value[f], _VALUE_CHECKS[f]))
    reason = pl.coalesce(
        [pl.when(c).then(pl.col(ERROR_COLUMN) if not code else pl.lit(code)) for c, code in checks]
    )
    strings = [
        pl.when(~absent[f]).then(pl.col(f).str.strip_chars()).alias(f)
        for f in STRING_FIELDS
        if f not in ("event_type", "ip")
    ]
    return frame.select(
        reason.alias(REASON_COLUMN),
        pl.col("_ts_ms").alias("ts"),
        pl.when(~absent["event_type"]).then(pl.col("event_type")).alias("event_type"),
        *strings,
        *[pl.when(~absent[f]).then(_clean_items(f)).alias(f) for f in LIST_FIELDS if f != "urls"],
        # links lose the tabs and line breaks a wrapped mail body put in them (as browsers do)
        pl.when(~absent["urls"])
        .then(_clean_items("urls").list.eval(pl.element().str.replace_all(r"[\t\n\r]", "")))
        .alias("urls"),
        pl.col("_ip").alias("ip"),
        pl.col("_subnet").alias("subnet"),
        pl.when(~absent["urls"]).then(pl.col("_url_keys")).alias("url_keys"),
    )
