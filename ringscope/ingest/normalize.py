"""Normalise identifiers so that one person's variants hash to one pseudonym.

Pure functions on one value (each returns None for an empty or unusable value), plus
:func:`map_distinct` to apply one to a column by computing it once per distinct value,
and a vectorised IPv4 fast path (:func:`normalize_ip_column`) checked against
:func:`normalize_ip`.
"""

from __future__ import annotations

import re
import socket
import unicodedata
from collections.abc import Callable
from typing import Any

import polars as pl

__all__ = [
    "GMAIL_DOMAINS",
    "email_pattern",
    "map_distinct",
    "normal_email_pattern",
    "normalize_account",
    "normalize_email",
    "normalize_ip",
    "normalize_ip_column",
    "normalize_name",
    "normalize_phone",
]

#: Domains where dots in the local part are ignored by the mail provider.
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
_NOT_DIGIT = re.compile(r"[^0-9]")
_V4_MAPPED = bytes(10) + b"\xff\xff"
_IPV4 = r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$"


_PATTERN_STRIP = re.compile(r"[\d._\-]+")


def normalize_email(value: str) -> str | None:
    """Canonical form of an email address, so tagged and dotted variants match.

    Trims and lower-cases; drops a ``+tag`` from the local part; for gmail.com and
    googlemail.com also drops dots in the local part and maps the domain to
    gmail.com. A value without ``@`` is returned trimmed and lower-cased.

    >>> normalize_email(" J.Doe+promo@GoogleMail.com ")
    'jdoe@gmail.com'
    """
    text = value.strip().lower()
    if not text:
        return None
    local, at, domain = text.rpartition("@")
    if not at or not local:
        return text
    local = local.split("+", 1)[0] or local
    domain = domain.rstrip(".")
    if domain in GMAIL_DOMAINS:
        local = local.replace(".", "") or local
        domain = "gmail.com"
    return f"{local}@{domain}"


def email_pattern(value: str) -> str | None:
    """Email with the digits and separators of its local part removed, so serial sign-ups
    (``johnsmith82`` -> ``johnsmith83``, ``john.smith_1``) share one pattern.

    Local parts shorter than three letters after stripping carry too little to match on.

    >>> email_pattern("John.Smith82+x@googlemail.com")
    'johnsmith@gmail.com'
    """
    email = normalize_email(value)
    return None if email is None else normal_email_pattern(email)


def normal_email_pattern(email: str) -> str | None:
    """:func:`email_pattern` of an address already in :func:`normalize_email` form (so
    ingest normalises each address once for both of its keys)."""
    if "@" not in email:
        return None
    local, _, domain = email.rpartition("@")
    letters = _PATTERN_STRIP.sub("", local)
    return f"{letters}@{domain}" if len(letters) >= 3 else None


def normalize_phone(value: str) -> str | None:
    """Digits of a phone number, with a leading ``00`` international prefix dropped.

    >>> normalize_phone("0044 (20) 7946-0958")
    '442079460958'
    """
    digits = _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", value))
    if digits.startswith("00"):
        digits = digits[2:]
    return digits or None


def normalize_ip(value: str) -> tuple[str, str] | None:
    """Canonical address and its network: IPv4 /24, IPv6 /48; None if not an address.

    An IPv4-mapped IPv6 address (``::ffff:1.2.3.4``) is treated as the IPv4 address.
    A zone suffix (``%eth0``) and surrounding brackets are ignored; IPv4 octets with
    leading zeros are refused (they are ambiguous: octal or decimal). The text form is
    the standard one of ``inet_ntop`` (RFC 5952 for IPv6).

    >>> normalize_ip("::ffff:10.1.2.3")
    ('10.1.2.3', '10.1.2.0/24')
    """
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]
    try:  # ValueError: a NUL or a lone surrogate, which inet_pton cannot even encode
        packed = socket.inet_pton(socket.AF_INET, text)
    except (OSError, ValueError):
        try:
            packed = socket.inet_pton(socket.AF_INET6, text)
        except (OSError, ValueError):
            return None
        if packed[:12] != _V4_MAPPED:
            network = socket.inet_ntop(socket.AF_INET6, packed[:6] + bytes(10))
            return socket.inet_ntop(socket.AF_INET6, packed), f"{network}/48"
        packed = packed[12:]
    network = socket.inet_ntop(socket.AF_INET, packed[:3] + b"\0")
    return socket.inet_ntop(socket.AF_INET, packed), f"{network}/24"


def normalize_name(value: str) -> str | None:
    """A display name folded for matching: NFKC, case-folded, whitespace collapsed.

    >>> normalize_name("  Ｊｏｈｎ   DOE ")
    'john doe'
    """
    folded = " ".join(unicodedata.normalize("NFKC", value).casefold().split())
    return folded or None


def normalize_account(value: str) -> str | None:
    """An account id or recipient, so that a recipient can be matched to an actor.

    Trimmed; a value with ``@`` is an email address and gets :func:`normalize_email`;
    any other value is kept as it is (account ids can be case-sensitive).
    """
    text = value.strip()
    if not text:
        return None
    return normalize_email(text) if "@" in text else text


def map_distinct(
    series: pl.Series, func: Callable[[str], Any], *, return_dtype: pl.DataType | None = None
) -> pl.Series:
    """Apply ``func`` to a string column, calling it once per distinct non-null value."""
    dtype = return_dtype if return_dtype is not None else pl.Utf8()
    uniques = series.drop_nulls().unique()
    if len(uniques) == 0:
        return pl.Series(series.name, [None] * len(series), dtype=dtype)
    mapping = {value: func(value) for value in uniques.to_list()}
    return series.replace_strict(mapping, default=None, return_dtype=dtype)


def normalize_ip_column(ips: pl.Series) -> pl.DataFrame:
    """Vectorised :func:`normalize_ip`: columns ``ip`` and ``subnet``, null if invalid.

    Dotted-quad IPv4 (the bulk of real traffic) is handled with column operations;
    anything else goes through :func:`normalize_ip` once per distinct value.
    """
    raw = ips.cast(pl.Utf8).rename("raw")
    octets = raw.str.extract_groups(_IPV4).struct.unnest()
    octets.columns = ["a", "b", "c", "d"]
    names = octets.columns
    valid = [
        (pl.col(c).cast(pl.Int64, strict=False) <= 255)
        & ((pl.col(c).str.len_bytes() == 1) | ~pl.col(c).str.starts_with("0"))
        for c in names
    ]
    numbers = [pl.col(c).cast(pl.Int64, strict=False).cast(pl.Utf8) for c in names]
    v4 = octets.select(
        is_v4=pl.col("a").is_not_null(),
        ok=pl.all_horizontal(valid).fill_null(False),
        ip=pl.concat_str(numbers, separator="."),
        subnet=pl.concat_str([*numbers[:3], pl.lit("0/24")], separator="."),
    )
    others = raw.filter(~v4["is_v4"] & raw.is_not_null()).unique().to_list()
    slow = {value: normalize_ip(value) for value in others}
    slow_ip = {k: v[0] for k, v in slow.items() if v is not None}
    slow_net = {k: v[1] for k, v in slow.items() if v is not None}

    def looked_up(mapping: dict[str, str]) -> pl.Series:
        if not mapping:
            return pl.Series([None] * len(raw), dtype=pl.Utf8)
        return raw.replace_strict(mapping, default=None, return_dtype=pl.Utf8)

    return v4.with_columns(slow_ip=looked_up(slow_ip), slow_net=looked_up(slow_net)).select(
        ip=pl.when(pl.col("is_v4")).then(pl.when(pl.col("ok")).then("ip")).otherwise("slow_ip"),
        subnet=pl.when(pl.col("is_v4"))
        .then(pl.when(pl.col("ok")).then("subnet"))
        .otherwise("slow_net"),
    )
