"""The canonical event table that ingest produces and every later step reads.

One row per accepted, de-duplicated input record. Personal identifiers are already
keyed hashes (see :mod:`ringscope.privacy`); raw text and raw identifiers are gone.
``actor_id`` and ``target_id`` stay as the platform's account ids, because takedown
lists and investigators must name the account to act on.
"""

from __future__ import annotations

import polars as pl

__all__ = ["EVENT_SCHEMA", "EVENT_TYPES", "empty_events"]

#: Event types with a meaning of their own; any other value is generic activity.
EVENT_TYPES = ("signup", "login", "message", "report", "suspension")

EVENT_SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Int64(),  # epoch milliseconds, UTC
    "actor_id": pl.Utf8(),  # account id as given
    "actor_key": pl.Utf8(),  # keyed hash of the account id, to match recipients
    "event_type": pl.Utf8(),
    "event_id": pl.Utf8(),  # nullable; duplicates already removed
    "message_key": pl.Utf8(),  # keyed hash of message_id (ids can embed addresses)
    "recipients": pl.List(pl.Utf8()),  # keyed hashes of normalised recipients
    "domains": pl.List(pl.Utf8()),  # registered domains of the urls, de-duplicated
    "urls": pl.List(pl.Utf8()),  # "url:<keyed hash>" of each normalised full URL
    "object_ids": pl.List(pl.Utf8()),  # "<kind>:<keyed hash>" (hashtag, post, media, object)
    "content_key": pl.Utf8(),  # keyed hash of the normalised subject + text
    "content_bands": pl.List(pl.UInt64()),  # MinHash LSH band keys of the content
    "traits": pl.List(pl.Utf8()),  # message traits (contract field) plus links:<n>
    "ip_key": pl.Utf8(),
    "subnet_key": pl.Utf8(),  # IPv4 /24 or IPv6 /48
    "device_key": pl.Utf8(),
    "email_key": pl.Utf8(),
    "email_pattern_key": pl.Utf8(),  # email with digits/separators of the local part removed
    "phone_key": pl.Utf8(),
    "name_key": pl.Utf8(),  # keyed hash of the normalised display name
    "target_id": pl.Utf8(),  # what the event acts on (account, post, product), as given
}


def empty_events() -> pl.DataFrame:
    """An event table with no rows and the canonical schema."""
    return pl.DataFrame(schema=EVENT_SCHEMA)
