"""Turn the accepted ``ts`` forms into epoch milliseconds UTC, vectorised.

Accepted: ISO-8601 strings (``T`` or space between date and time, optional seconds
and fraction, zone ``Z`` or ``±HH[:MM]``; no zone means UTC; a date alone is
midnight UTC), and epoch seconds or milliseconds as integers or digit-only strings.
An epoch value with ``abs(v) >= 1e11`` is milliseconds (1e11 s is the year 5138),
anything smaller is seconds. Results outside [1970-01-01, 2100-01-01) are rejected as
implausible for an event log.
"""

from __future__ import annotations

import polars as pl

from ringscope.ingest.fields import Tag

__all__ = [
    "MAX_MS",
    "MILLIS_THRESHOLD",
    "MIN_MS",
    "epoch_to_ms",
    "parse_iso",
    "parse_timestamps",
]

MIN_MS = 0  # 1970-01-01T00:00:00Z
MAX_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z, exclusive
MILLIS_THRESHOLD = 100_000_000_000  # 1e11

_ISO = (
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)
_DIGITS = r"^\d+(?:\.\d+)?$"
_INTEGER = r"^-?\d+$"


def epoch_to_ms(value: pl.Series) -> pl.Series:
    """Epoch seconds or milliseconds (decided by magnitude) as whole milliseconds.

    Integers stay exact; fractional values are rounded to the nearest millisecond.
    """
    if value.dtype.is_float():
        ms = pl.when(value.abs() >= MILLIS_THRESHOLD).then(value).otherwise(value * 1000)
        finite = value.is_finite() & (value.abs() < 1e15)
        return pl.select(pl.when(finite).then(ms.round(0).cast(pl.Int64))).to_series()
    return pl.select(
        pl.when(value.abs() >= MILLIS_THRESHOLD).then(value).otherwise(value * 1000)
    ).to_series()


def parse_iso(text: pl.Series) -> pl.Series:
    """ISO-8601 text as epoch milliseconds UTC; null where it is not ISO-8601 or no date."""
    parts = text.str.extract_groups(_ISO).struct.unnest()
    parts.columns = ["y", "mo", "d", "h", "mi", "s", "frac", "zone"]
    wall = pl.concat_str(
        "y",
        pl.lit("-"),
        "mo",
        pl.lit("-"),
        "d",
        pl.lit("T"),
        pl.col("h").fill_null("00"),
        pl.lit(":"),
        pl.col("mi").fill_null("00"),
        pl.lit(":"),
        pl.col("s").fill_null("00"),
    )
    zone = pl.col("zone").fill_null("Z").str.replace(":", "", literal=True)
    step = parts.select(
        base=wall.str.strptime(pl.Datetime("ms"), "%Y-%m-%dT%H:%M:%S", strict=False).dt.epoch("ms"),
        frac=pl.concat_str(pl.col("frac").fill_null(""), pl.lit("000")).str.slice(0, 3),
        utc=zone.str.to_uppercase() == "Z",
        sign=pl.when(zone.str.starts_with("-")).then(-1).otherwise(1),
        hours=zone.str.slice(1, 2).cast(pl.Int64, strict=False),
        minutes=zone.str.slice(3, 2).cast(pl.Int64, strict=False).fill_null(0),
    )
    return step.select(
        pl.when(pl.col("utc") | ((pl.col("hours") < 24) & (pl.col("minutes") < 60))).then(
            pl.col("base")
            + pl.col("frac").cast(pl.Int64)
            - pl.when(pl.col("utc"))
            .then(0)
            .otherwise(pl.col("sign") * (pl.col("hours") * 60 + pl.col("minutes")) * 60_000)
        )
    ).to_series()


def parse_timestamps(values: pl.Series, tags: pl.Series) -> pl.Series:
    """Epoch ms UTC for any accepted ``ts`` form; null where unreadable or out of range.

    Args:
        values: The ``ts`` values as text.
        tags: Their type tags (:class:`fields.Tag`): ``string``, ``number`` (JSON
            number or numeric column) or ``timestamp`` (already epoch ms); any other
            tag gives null.
    """
    frame = pl.DataFrame({"v": values.cast(pl.Utf8), "t": tags.cast(pl.Utf8)}).with_columns(
        is_string=pl.col("t") == Tag.STRING,
        is_number=pl.col("t") == Tag.NUMBER,
        is_millis=pl.col("t") == Tag.TIMESTAMP,
        digits=pl.col("v").str.contains(_DIGITS),
        integer=pl.col("v").str.contains(_INTEGER),
    )
    frame = frame.with_columns(
        number=pl.when((pl.col("is_number") | pl.col("is_string")) & pl.col("integer")).then(
            pl.col("v").cast(pl.Int64, strict=False)
        ),
        fraction=pl.when(
            (pl.col("is_number") & ~pl.col("integer"))
            | (pl.col("is_string") & pl.col("digits") & ~pl.col("integer"))
        ).then(pl.col("v").cast(pl.Float64, strict=False)),
        millis=pl.when(pl.col("is_millis")).then(pl.col("v").cast(pl.Int64, strict=False)),
        iso=pl.col("is_string") & ~pl.col("digits"),
    )
    ms = pl.select(
        pl.coalesce(frame["millis"], epoch_to_ms(frame["number"]), epoch_to_ms(frame["fraction"]))
    ).to_series()
    iso_rows = frame["iso"].arg_true()
    if len(iso_rows):
        ms = ms.scatter(iso_rows, parse_iso(frame["v"].gather(iso_rows).str.strip_chars()))
    return pl.select(pl.when((ms >= MIN_MS) & (ms < MAX_MS)).then(ms)).to_series().rename("ts")
