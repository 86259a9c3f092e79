"""Reject previews: linear in the record's length, and no identifier of any field shown.

Every field of the input contract is tried with an identifier-bearing value in a bad
record, as parsed JSON, as a truncated (unparseable) JSON line and as a CSV row.
"""

from __future__ import annotations

import csv
import io
import time

import orjson
import pytest

from ringscope.ingest.fields import FIELDS, IDENTIFIER_FIELDS, LIST_FIELDS
from ringscope.ingest.rejects import PREVIEW_CHARS, preview

#: The contract's fields: the ones validated today plus those records may carry as extras.
CONTRACT_FIELDS = (*FIELDS, "object_ids")
#: Fields whose value a preview shows (scrubbed): the rest are identifiers.
SHOWN_FIELDS = ("ts", "event_type", "reason", "traits")
SCRUBBED = "mail bob.smith@example.org from 198.51.100.23 or 2001:db8::7, +1 (555) 014-2299"
SECRETS = ("bob.smith", "198.51.100.23", "2001:db8::7", "014-2299")


def _token(field: str) -> str:
    return f"SECRET{field.replace('_', '').upper()}0042"


def _record(field: str) -> dict:
    record = {"ts": "not a time", "actor_id": "a1", "event_type": "message"}
    if field in SHOWN_FIELDS:
        record[field] = SCRUBBED
    elif field in LIST_FIELDS or field == "object_ids":
        record[field] = [_token(field), f"https://{_token(field)}.example/x"]
    else:
        record[field] = _token(field)
    return record


def _csv_row(record: dict) -> tuple[bytes, tuple[str, ...]]:
    header = tuple(record)
    out = io.StringIO()
    cells = ["|".join(v) if isinstance(v, list) else v for v in record.values()]
    csv.writer(out).writerow(cells)
    return out.getvalue().rstrip("\r\n").encode(), header


def _assert_hidden(field: str, shown: str) -> None:
    if field in SHOWN_FIELDS:
        for secret in SECRETS:
            assert secret not in shown, (field, shown)
    else:
        assert _token(field).lower() not in shown.lower(), (field, shown)


def test_the_contract_fields_are_either_shown_or_identifiers() -> None:
    assert set(CONTRACT_FIELDS) - set(SHOWN_FIELDS) <= IDENTIFIER_FIELDS
    assert not set(SHOWN_FIELDS) & IDENTIFIER_FIELDS


@pytest.mark.parametrize("field", CONTRACT_FIELDS)
def test_no_identifier_of_any_field_in_a_preview(field: str) -> None:
    record = _record(field)
    raw = orjson.dumps(record)
    _assert_hidden(field, preview(raw))
    # Truncated lines (cut inside and after the value) are not JSON: scrubbed as text.
    cut = raw.index(field.encode()) + len(field) + 8
    for truncated in (raw[:-1], raw[:cut], raw[: cut + 12]):
        _assert_hidden(field, preview(truncated))
    row, header = _csv_row(record)
    _assert_hidden(field, preview(row, header=header))
    _assert_hidden(field, preview(row + b",extra,cells", header=header))


def test_a_preview_still_says_what_was_wrong() -> None:
    shown = preview(orjson.dumps(_record("device_id")))
    assert '"ts":"not a time"' in shown and '"event_type":"message"' in shown
    assert '"device_id":"[redacted]"' in shown


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "raw",
    [
        b'{"ts": "x", "reason": "' + b"A" * 2_000_000 + b'"}',
        b'{"ts": "x", "urls": ["' + b"a." * 1_000_000 + b'"]}',
        b'{"ts": "x", "reason": "' + b"1 " * 1_000_000,
        b'{"ts": "x", "reason": "' + b"a-" * 1_000_000,
    ],
    ids=["reason", "urls", "truncated-digits", "truncated-word"],
)
def test_a_long_bad_record_is_previewed_in_linear_time(raw: bytes) -> None:
    started = time.perf_counter()
    shown = preview(raw)
    assert time.perf_counter() - started < 5.0
    assert len(shown) <= PREVIEW_CHARS


@pytest.mark.timeout(60)
def test_a_long_csv_cell_is_previewed_in_linear_time() -> None:
    started = time.perf_counter()
    shown = preview(b"x,a1," + b"B" * 2_000_000, header=("ts", "actor_id", "reason"))
    assert time.perf_counter() - started < 5.0
    assert len(shown) <= PREVIEW_CHARS
