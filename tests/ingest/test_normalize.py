"""Identifier normalisation: each pure function, and the vectorised IP path against it."""

from __future__ import annotations

import random

import polars as pl
import pytest

from ringscope.ingest.normalize import (
    map_distinct,
    normalize_account,
    normalize_email,
    normalize_ip,
    normalize_ip_column,
    normalize_name,
    normalize_phone,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Alice@Example.COM ", "alice@example.com"),
        ("alice+news@example.com", "alice@example.com"),
        ("a.l.i.c.e@example.com", "a.l.i.c.e@example.com"),  # dots only matter at gmail
        ("A.Lice+x@gmail.com", "alice@gmail.com"),
        ("a.lice@googlemail.com", "alice@gmail.com"),
        ("alice@gmail.com.", "alice@gmail.com"),
        ("no-at-sign", "no-at-sign"),
        ("+tag@example.com", "+tag@example.com"),  # nothing left before the tag: keep it
        ("   ", None),
    ],
)
def test_normalize_email(raw: str, expected: str | None) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 (555) 010-9999", "15550109999"),
        ("0044 20 7946 0958", "442079460958"),
        ("+44 20 7946 0958", "442079460958"),
        ("555.010.9999", "5550109999"),
        ("１２３４５６７", "1234567"),  # full-width digits
        ("no digits", None),
    ],
)
def test_normalize_phone(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.2.3.4", ("1.2.3.4", "1.2.3.0/24")),
        (" 10.20.30.40 ", ("10.20.30.40", "10.20.30.0/24")),
        ("::ffff:10.1.2.3", ("10.1.2.3", "10.1.2.0/24")),
        ("2001:DB8:abcd:12::1", ("2001:db8:abcd:12::1", "2001:db8:abcd::/48")),
        ("2001:db8:0:0:0:0:2:1", ("2001:db8::2:1", "2001:db8::/48")),
        ("[2001:db8::1]", ("2001:db8::1", "2001:db8::/48")),
        ("fe80::1%eth0", ("fe80::1", "fe80::/48")),
        ("256.1.1.1", None),
        ("01.2.3.4", None),  # leading zero: octal or decimal?
        ("1.2.3", None),
        ("not an ip", None),
        ("", None),
        ("\x00", None),  # inet_pton raises ValueError, not OSError, on these two
        ("1.2.3.\ud800", None),
    ],
)
def test_normalize_ip(raw: str, expected: tuple[str, str] | None) -> None:
    assert normalize_ip(raw) == expected


def _random_ip(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.5:
        return ".".join(str(rng.choice([0, 1, 9, 10, 99, 100, 255, 256, 300])) for _ in range(4))
    if kind < 0.6:
        return ".".join(rng.choice(["01", "1", "001", "0", "7"]) for _ in range(4))
    if kind < 0.8:
        return ":".join(f"{rng.randrange(65536):x}" for _ in range(rng.choice([3, 8])))
    if kind < 0.9:
        return f"::ffff:{rng.randrange(256)}.{rng.randrange(256)}.1.2"
    return rng.choice(["", " ", "1.2.3.4.5", "a.b.c.d", "::", "1.2.3.4 ", "[::1]", "1..2.3"])


def test_normalize_ip_column_matches_the_scalar_reference() -> None:
    rng = random.Random(20240601)
    values = [_random_ip(rng) for _ in range(3000)] + [None]
    result = normalize_ip_column(pl.Series(values, dtype=pl.Utf8))
    for value, ip, subnet in zip(values, result["ip"], result["subnet"], strict=True):
        expected = normalize_ip(value) if value is not None else None
        assert (ip, subnet) == (expected if expected else (None, None)), value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Ｊｏｈｎ   DOE ", "john doe"),
        ("Straße", "strasse"),  # casefold, not just lower
        ("Émile\tZola", "émile zola"),
        ("   ", None),
    ],
)
def test_normalize_name(raw: str, expected: str | None) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" user_42 ", "user_42"),
        ("User_42", "User_42"),  # account ids may be case-sensitive
        (" Bob.Smith+x@GMail.com", "bobsmith@gmail.com"),
        ("", None),
    ],
)
def test_normalize_account(raw: str, expected: str | None) -> None:
    assert normalize_account(raw) == expected


def test_map_distinct_calls_once_per_distinct_value() -> None:
    calls: list[str] = []

    def upper(value: str) -> str:
        calls.append(value)
        return value.upper()

    series = pl.Series(["a", "b", "a", None, "b", "a"])
    assert map_distinct(series, upper).to_list() == ["A", "B", "A", None, "B", "A"]
    assert sorted(calls) == ["a", "b"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("johnsmith82@gmail.com", "johnsmith@gmail.com"),
        ("John.Smith83+promo@googlemail.com", "johnsmith@gmail.com"),
        ("j_smith-1990@example.org", "jsmith@example.org"),
        ("a1@example.org", None),
        ("not-an-email", None),
    ],
)
def test_email_pattern_survives_serial_signups(value, expected):
    from ringscope.ingest.normalize import email_pattern

    assert email_pattern(value) == expected
