"""Turn a coordinated-sharing table into ringscope events (one event per post).

Public coordinated-link-sharing data comes as one row per (post, shared object): the
layout of CooRTweet's ``prep_data``/``reshape_tweets`` (``object_id, account_id,
content_id, timestamp_share``) or of its multi-modal German-election sample (``account_id,
post_id, url_id, hashtag_id, domain_id, phash_id, timestamp``, ids already pseudonymous
integers). :func:`sharing_events` folds the rows of each post into one ``post`` event:

* ``url_id`` (with ``domain_id``) becomes one link ``https://d<domain_id>.com/u<url_id>``,
  so the link is both an exact-URL item and a domain item, as real links are;
* ``hashtag_id`` becomes ``#h<id>`` and ``phash_id`` ``phash:<id>`` in ``object_ids``;
* a CooRTweet ``object_id`` (the retweeted/quoted post, a URL, a hashtag) becomes
  ``post:<id>``, or the link itself when it looks like a URL; a row whose object is the
  post itself (the original of a retweet) shares nothing, as CooRTweet's loop removal;
* the timestamp stays epoch seconds (fractions kept).

Write the result with :func:`write_sharing_events` and run ``ringscope run`` on it.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ringscope.errors import InputError

__all__ = ["GERMAN_COLUMNS", "SHARING_COLUMNS", "sharing_events", "write_sharing_events"]

#: Columns of the multi-modal layout (CooRTweet's ``german_elections`` sample).
GERMAN_COLUMNS = ("account_id", "post_id", "url_id", "hashtag_id", "domain_id", "phash_id")
#: Columns of CooRTweet's one-object layout (``russian_coord_tweets``, ``prep_data``).
SHARING_COLUMNS = ("object_id", "account_id", "content_id", "timestamp_share")


def _ids(column: str, fmt: pl.Expr) -> pl.Expr:
    """Distinct non-null formatted ids of one column within a post."""
    return pl.when(pl.col(column).is_not_null()).then(fmt).drop_nulls().unique().sort()


def sharing_events(table: pl.DataFrame) -> pl.DataFrame:
    """One ``post`` event per post, in the input schema (``urls``/``object_ids`` lists)."""
    columns = set(table.columns)
    if set(GERMAN_COLUMNS) | {"timestamp"} <= columns:
        text = {c: pl.col(c).cast(pl.Int64).cast(pl.Utf8) for c in GERMAN_COLUMNS[2:]}
        link = pl.concat_str(
            pl.lit("https://d"), text["domain_id"].fill_null("0"), pl.lit(".com/u"), text["url_id"]
        )
        grouped = (
            table.group_by("post_id")
            .agg(
                pl.col("account_id").first().cast(pl.Utf8).alias("actor_id"),
                pl.col("timestamp").min().alias("ts"),
                _ids("url_id", link).alias("urls"),
                _ids("hashtag_id", pl.lit("#h") + text["hashtag_id"]).alias("tags"),
                _ids("phash_id", pl.lit("phash:") + text["phash_id"]).alias("images"),
            )
            .with_columns(pl.concat_list("tags", "images").alias("object_ids"))
        )
        message = pl.col("post_id").cast(pl.Utf8)
    elif set(SHARING_COLUMNS) <= columns:
        obj = pl.col("object_id").cast(pl.Utf8)
        obj = obj.filter(obj != pl.col("content_id").cast(pl.Utf8))  # a post is not its own share
        is_link = obj.str.contains(r"^(?i:https?://)")
        grouped = table.group_by("content_id").agg(
            pl.col("account_id").first().cast(pl.Utf8).alias("actor_id"),
            pl.col("timestamp_share").min().cast(pl.Float64).alias("ts"),
            obj.filter(is_link).unique().sort().alias("urls"),
            (pl.lit("post:") + obj.filter(~is_link)).unique().sort().alias("object_ids"),
        )
        message = pl.col("content_id").cast(pl.Utf8)
    else:
        raise InputError(
            "not a sharing table: expected the columns "
            f"{', '.join(GERMAN_COLUMNS)}, timestamp or {', '.join(SHARING_COLUMNS)}; "
            f"got {', '.join(table.columns)}"
        )
    return grouped.select(
        pl.col("ts").cast(pl.Float64),
        "actor_id",
        pl.lit("post").alias("event_type"),
        message.alias("message_id"),
        pl.col("urls").list.drop_nulls(),
        pl.col("object_ids").list.drop_nulls(),
    ).sort("ts", "message_id")


def write_sharing_events(table: pl.DataFrame, path: Path) -> int:
    """Write :func:`sharing_events` as Parquet (list columns); returns the event count."""
    events = sharing_events(table)
    events.write_parquet(path)
    return events.height
