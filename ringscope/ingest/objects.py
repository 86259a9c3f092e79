"""Shared objects: links as exact URLs, and the ``object_ids`` an event shares.

A link is two items (see the contract): its registered domain (:mod:`domains`, the same
site) and its normalised full URL (the same article), made here. Normalising folds the
spellings of one address into one: scheme and host lower-cased, a default port
(``:80`` on http, ``:443`` on https) and a trailing dot of the host dropped, the
fragment dropped, tracking parameters (``utm_*``, ``fbclid``, ``gclid`` and the other
click ids in :data:`TRACKING_PARAMS`) removed, the other query parameters kept in their
order. As browsers do (WHATWG URL standard), tabs and line breaks inside a link are
removed (mail bodies wrap long links), spaces in its path are percent-encoded and a
percent-encoded host is decoded (after an encoded ``@``, the host the link goes to). A
link without a scheme is read as ``http://``. A link is never expanded or
fetched: a short link stays its own item (it is the destination's name).

``object_ids`` are kept exact (post ids, media hashes, hashtags, meeting ids). Each has a
*kind*, so that a post id and a media hash with the same text never match and each kind
is an evidence layer with its own window and weight: ``#tag`` is a ``hashtag``; a
``kind:value`` prefix names the kind (``post:``, ``repost:``, ``quote:``, ``reply:``,
``retweet:`` and ``tweet:`` are ``post``; ``media:``, ``phash:``, ``image:``, ``video:``
and ``hash:`` are ``media``; ``hashtag:`` is ``hashtag``); anything else is ``object``.

Validation (per record, see :mod:`validate`): a link without a valid host (none, or one
with white space or a reserved character), a link with another control character, an
object id with a control character or white space inside, or an item longer than
:data:`MAX_ITEM_CHARS` rejects its record with ``invalid_url`` / ``invalid_object_id``.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import polars as pl

__all__ = [
    "MAX_ITEM_CHARS",
    "OBJECT_KINDS",
    "TRACKING_PARAMS",
    "URL_CONTROL",
    "bad_items",
    "bad_scalar",
    "normalize_url",
    "object_kind",
    "valid_url",
]

#: Longest accepted URL, object id or target id (characters).
MAX_ITEM_CHARS = 2048
#: Query parameters that identify a click or a campaign, not the page.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "igshid", "mc_cid", "mc_eid", "yclid", "_ga"}
)
#: Object kind of each recognised ``kind:`` prefix.
OBJECT_KINDS = {
    "post": "post",
    "repost": "post",
    "quote": "post",
    "reply": "post",
    "retweet": "post",
    "tweet": "post",
    "media": "media",
    "phash": "media",
    "image": "media",
    "video": "media",
    "hash": "media",
    "hashtag": "hashtag",
}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_KIND = re.compile(r"^([A-Za-z_]{1,24}):(.+)$")
#: A control character or white space anywhere in an item.
_UNPRINTABLE = r"[\x00-\x20\x7f]"
#: A control character a link may not hold (tab and line breaks are removed, not refused).
URL_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_BREAKS = re.compile(r"[\t\n\r]")
_HOST = re.compile(r"^[^\s/?#@:\\\[\]<>\"%^`{|}]+$")
#: A link already in canonical form (the common case): lower-case http(s) scheme and host
#: of plain labels, no port, user, query or fragment, a path with nothing to encode.
#: Normalising returns such a link as it is, so it skips the parse (a third of a
#: worker's CPU on link-heavy batches went to parsing links that were already canonical).
_CANONICAL = re.compile(r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*/[^\x00-\x20\x7f?#]*")


def normalize_url(url: str) -> str | None:
    """Canonical text of one link, or None when it has no host.

    >>> normalize_url("HTTPS://News.Example.com:443/a?utm_source=x&id=7#top")
    'https://news.example.com/a?id=7'
    """
    if _CANONICAL.fullmatch(url):
        return url
    text = _BREAKS.sub("", url).strip()
    if not _HAS_SCHEME.match(text):
        text = "http://" + text.removeprefix("//")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    # a percent-encoded host (``w%77%77.example.com``, a spam trick) is decoded; after an
    # encoded ``@`` comes the host the link really goes to
    host = unquote(parts.hostname or "").lower().rsplit("@", 1)[-1].rstrip(".")
    if not host or (":" not in host and not _HOST.match(host)):
        return None
    scheme = parts.scheme.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    path = (parts.path or "/").replace(" ", "%20")
    return urlunsplit(SplitResult(scheme, netloc, path, urlencode(query), ""))


def valid_url(url: str) -> bool:
    """Whether ingest accepts this link: a producer that finds links in free text (mail
    bodies) keeps only these, so one garbled link does not quarantine its message."""
    text = url.strip()
    return (
        0 < len(text) <= MAX_ITEM_CHARS
        and re.search(URL_CONTROL, text) is None
        and normalize_url(text) is not None
    )


def object_kind(object_id: str) -> tuple[str, str]:
    """``(kind, id)`` of one object id (see the module docstring).

    >>> object_kind("#Wahl2021"), object_kind("phash:ab12"), object_kind("12345")
    (('hashtag', '#Wahl2021'), ('media', 'ab12'), ('object', '12345'))
    """
    if object_id.startswith("#"):
        return "hashtag", object_id
    match = _KIND.match(object_id)
    if match and match.group(1).lower() in OBJECT_KINDS:
        return OBJECT_KINDS[match.group(1).lower()], match.group(2)
    return "object", object_id


def bad_items(lists: pl.Expr, pattern: str = _UNPRINTABLE) -> pl.Expr:
    """Whether a list of items holds one that is too long or has a character of ``pattern``
    (default: a control character or white space)."""
    item = pl.element()
    bad = item.str.contains(pattern) | (item.str.len_chars() > MAX_ITEM_CHARS)
    return lists.list.eval(bad).list.any().fill_null(False)


def bad_scalar(value: pl.Expr) -> pl.Expr:
    """Whether one id is too long or has a control character inside."""
    bad = value.str.contains(r"[\x00-\x1f\x7f]") | (value.str.len_chars() > MAX_ITEM_CHARS)
    return bad.fill_null(False)
