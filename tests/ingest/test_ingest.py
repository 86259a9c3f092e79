"""Ingest end to end on real files: formats, reject codes and positions, dedupe, privacy."""

from __future__ import annotations

import csv
import gzip
import json
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ringscope.errors import InputError, RejectRateExceeded
from ringscope.graph.schema import EVENT_SCHEMA
from ringscope.ingest import IngestResult, ingest, read_rejects, write_rejects
from ringscope.ingest.domains import DomainResolver
from ringscope.ingest.normalize import normalize_account
from ringscope.privacy import Keyring

KEYRING = Keyring(b"ringscope-test-secret-0123456789")
T0 = 1_709_294_400_000  # 2024-03-01T12:00:00Z


def sample_events() -> list[dict[str, Any]]:
    """Valid events covering every field, with personal data to check it disappears."""
    return [
        {
            "event_id": "e1",
            "ts": "2024-03-01T12:00:00Z",
            "actor_id": "alice",
            "event_type": "signup",
            "email": "Alice.Liddell+promo@googlemail.com",
            "phone": "+44 20 7946 0958",
            "display_name": "Alice Liddell",
            "ip": "203.0.113.7",
            "device_id": "dev-AAA",
        },
        {
            "event_id": "e2",
            "ts": "2024-03-01T12:05:00Z",
            "actor_id": "alice",
            "event_type": "message",
            "message_id": "msg-1@mail.example",
            "recipients": ["bob", "carol@example.org", "bob"],
            "subject": "Claim your prize",
            "text": "Dear winner, send 500 dollars to claim your secret prize today",
            "urls": [
                "https://a.b.prizes.co.uk/claim?id=1",
                "prizes.co.uk/x",
                "http://198.51.100.9/p",
            ],
            "ip": "2001:db8:abcd:12::1",
            "device_id": "dev-AAA",
        },
        {
            "event_id": "e3",
            "ts": "2024-03-01T12:06:00Z",
            "actor_id": "bob",
            "event_type": "login",
            "ip": "::ffff:203.0.113.8",
        },
        {
            "event_id": "e4",
            "ts": "2024-03-01T12:07:00Z",
            "actor_id": "carol@example.org",
            "event_type": "report",
            "target_id": "alice",
            "reason": "spam",
        },
        {
            "ts": "2024-03-01T12:08:00Z",
            "actor_id": "dave",
            "event_type": "suspension",
        },
    ]


def _write_jsonl(path: Path, records: list[Any], *, compress: bool = False) -> Path:
    data = b"".join(orjson.dumps(r) + b"\n" for r in records)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "|".join(value)
    return str(value)


def write_csv(path: Path, records: list[dict[str, Any]], *, compress: bool = False) -> Path:
    columns = sorted({k for r in records for k in r})
    opener = gzip.open if compress else open
    with opener(path, "wt", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for r in records:
            writer.writerow([_csv_value(r.get(c)) for c in columns])
    return path


def write_parquet(path: Path, records: list[dict[str, Any]], *, joined_lists: bool) -> Path:
    columns = sorted({k for r in records for k in r})
    data: dict[str, list[Any]] = {c: [r.get(c) for r in records] for c in columns}
    arrays = {}
    for c, values in data.items():
        if c in ("recipients", "urls"):
            if joined_lists:
                arrays[c] = pa.array(
                    [None if v is None else "|".join(v) for v in values], pa.string()
                )
            else:
                arrays[c] = pa.array(values, pa.list_(pa.string()))
        else:
            arrays[c] = pa.array(values, pa.string())
    pq.write_table(pa.table(arrays), path)
    return path


def _ingest(paths: Any, **options: Any) -> IngestResult:
    return ingest(paths, keyring=KEYRING, **options)


def _without_raw(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop("raw")


# --- schema and basic semantics -------------------------------------------------


def test_events_have_the_canonical_schema_and_order(tmp_path: Path) -> None:
    result = _ingest(_write_jsonl(tmp_path / "e.jsonl", sample_events()))
    assert result.events.schema == pl.Schema(EVENT_SCHEMA)
    assert list(result.events.columns) == list(EVENT_SCHEMA)
    assert result.events["ts"].to_list() == [T0 + m * 60_000 for m in (0, 5, 6, 7, 8)]
    assert result.events["event_type"].to_list() == [
        "signup",
        "message",
        "login",
        "report",
        "suspension",
    ]
    assert result.inputs[0].records == 5 and result.inputs[0].accepted == 5
    assert len(result.rejects) == 0


def test_recipients_are_hashed_like_actors_deduplicated_in_order(tmp_path: Path) -> None:
    events = _ingest(_write_jsonl(tmp_path / "e.jsonl", sample_events())).events
    message = events.filter(pl.col("event_type") == "message").row(0, named=True)
    key = {row["actor_id"]: row["actor_key"] for row in events.iter_rows(named=True)}
    assert message["recipients"] == [key["bob"], key["carol@example.org"]]
    assert key["bob"] == KEYRING.hash("account", normalize_account("bob"))
    assert message["message_key"] == KEYRING.hash("message", "msg-1@mail.example")
    assert message["domains"] == ["prizes.co.uk", "ip:" + KEYRING.hash("url_ip", "198.51.100.9")]
    assert len(message["content_bands"]) == 24
    report = events.filter(pl.col("event_type") == "report").row(0, named=True)
    assert report["target_id"] == "alice"


def test_identifiers_are_normalised_before_hashing(tmp_path: Path) -> None:
    events = _ingest(_write_jsonl(tmp_path / "e.jsonl", sample_events())).events
    signup = events.row(0, named=True)
    assert signup["email_key"] == KEYRING.hash("email", "aliceliddell@gmail.com")
    assert signup["phone_key"] == KEYRING.hash("phone", "442079460958")
    assert signup["name_key"] == KEYRING.hash("name", "alice liddell")
    assert signup["ip_key"] == KEYRING.hash("ip", "203.0.113.7")
    assert signup["subnet_key"] == KEYRING.hash("subnet", "203.0.113.0/24")
    assert signup["device_key"] == KEYRING.hash("device", "dev-AAA")
    login = events.filter(pl.col("actor_id") == "bob").row(0, named=True)
    assert login["subnet_key"] == signup["subnet_key"]  # IPv4-mapped IPv6 is IPv4
    message = events.filter(pl.col("event_type") == "message").row(0, named=True)
    assert message["subnet_key"] == KEYRING.hash("subnet", "2001:db8:abcd::/48")


# --- rejects ---------------------------------------------------------------------

GOOD = b'{"ts": "2024-03-01T12:00:00Z", "actor_id": "u1", "event_type": "login"}'
BAD_LINES: list[tuple[bytes, str | None]] = [
    (GOOD, None),
    (b"", None),  # blank: skipped, still counted as a line
    (
        b'{"ts": "2024-03-01T12:00:00Z", "actor_id": "u\xff\xfe", "event_type": "login"}',
        "invalid_utf8",
    ),
    (b'{"ts": 1709294400, "actor_id": }', "malformed_json"),
    (b"[1, 2, 3]", "not_an_object"),
    (b'"just a string"', "not_an_object"),
    (b"   \t ", None),  # whitespace only: skipped
    (b'{"actor_id": "u1", "event_type": "login"}', "missing_field: ts"),
    (b'{"ts": null, "actor_id": "u1", "event_type": "login"}', "missing_field: ts"),
    (b'{"ts": 1709294400, "event_type": "login"}', "missing_field: actor_id"),
    (b'{"ts": 1709294400, "actor_id": "  ", "event_type": "login"}', "missing_field: actor_id"),
    (b'{"ts": 1709294400, "actor_id": "u1"}', "missing_field: event_type"),
    (b'{"ts": 1709294400, "actor_id": "u1", "event_type": "message"}', "missing_field: message_id"),
    (b'{"ts": 1709294400, "actor_id": "u1", "event_type": "report"}', "missing_field: target_id"),
    (b'{"ts": 1709294400, "actor_id": 42, "event_type": "login"}', "wrong_type: actor_id"),
    (b'{"ts": 1709294400, "actor_id": ["u1"], "event_type": "login"}', "wrong_type: actor_id"),
    (b'{"ts": true, "actor_id": "u1", "event_type": "login"}', "wrong_type: ts"),
    (b'{"ts": 1709294400.5, "actor_id": "u1", "event_type": "login"}', None),  # fractional
    (b'{"ts": [1709294400], "actor_id": "u1", "event_type": "login"}', "wrong_type: ts"),
    (b'{"ts": {"s": 1}, "actor_id": "u1", "event_type": "login"}', "wrong_type: ts"),
    (
        b'{"ts": 1709294400, "actor_id": "u1", "event_type": "message", "message_id": "m",'
        b' "recipients": ["a", 3]}',
        "wrong_type: recipients",
    ),
    (
        b'{"ts": 1709294400, "actor_id": "u1", "event_type": "x", "urls": "a.com"}',
        "wrong_type: urls",
    ),
    (b'{"ts": "yesterday", "actor_id": "u1", "event_type": "login"}', "bad_timestamp"),
    (b'{"ts": "2024-13-45T00:00:00Z", "actor_id": "u1", "event_type": "login"}', "bad_timestamp"),
    (b'{"ts": "1900-01-01T00:00:00Z", "actor_id": "u1", "event_type": "login"}', "bad_timestamp"),
    (
        b'{"ts": 1709294400, "actor_id": "u1", "event_type": "login", "ip": "999.1.1.1"}',
        "invalid_ip",
    ),
    (b'{"ts": 1709294400, "actor_id": "u1", "event_type": "login", "extra": {"a": [1]}}', None),
    (b'{"ts": "2024-03-01T12:00:00Z", "actor_id": "u9", "event_ty', "malformed_json"),  # truncated
    (
        b'{"ts": 1709294400, "actor_id": "u1", "event_type": "x", "urls": ["a b.com/x"]}',
        "invalid_url",
    ),
    (
        b'{"ts": 1709294400, "actor_id": "u1", "event_type": "x", "urls": ["https://:80/"]}',
        "invalid_url",
    ),
    (
        b'{"ts": 1709294400, "actor_id": "u1", "event_type": "x", "object_ids": ["#ok", "a\\nb"]}',
        "invalid_object_id",
    ),
    (
        b'{"ts": 1709294400, "actor_id": "u1", "event_type": "x", "object_ids": "#tag"}',
        "wrong_type: object_ids",
    ),
    (
        b'{"ts": 1709294400, "actor_id": "u1", "event_type": "rate", "target_id": "p\\u0000"}',
        "invalid_target_id",
    ),
    (
        b'{"ts": 1709294400, "actor_id": "u1", "event_type": "rate", "target_id": 7}',
        "wrong_type: target_id",
    ),
]


def _bad_file(path: Path) -> Path:
    path.write_bytes(b"\n".join(line for line, _ in BAD_LINES))  # no final newline
    return path


def test_each_reject_reason_at_its_line(tmp_path: Path) -> None:
    result = _ingest(_bad_file(tmp_path / "bad.jsonl"), max_reject_rate=1.0)
    expected = {i + 1: reason for i, (_, reason) in enumerate(BAD_LINES) if reason}
    got = dict(zip(result.rejects["position"], result.rejects["reason"], strict=True))
    assert got == expected
    assert Counter(result.rejects["reason"]) == Counter(expected.values())
    assert set(result.rejects["source"]) == {str(tmp_path / "bad.jsonl")}
    # the good line, the one with an extra field and the fractional epoch
    assert len(result.events) == 3
    assert 1709294400500 in result.events["ts"].to_list()
    stats = result.inputs[0]
    assert stats.records == len(BAD_LINES) - 2  # the blank lines are not records
    assert stats.rejected == len(expected) and stats.accepted == 3


def test_type_checks_hold_on_the_fast_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Without a non-list in a list field, DuckDB's typed reader takes the whole block
    # and the JSON types of text-looking values are checked line by line.
    non_lists = (b'"urls": "a.com"', b'"object_ids": "#tag"')
    lines = [(line, r) for line, r in BAD_LINES if not any(n in line for n in non_lists)]
    lines.append((b'{"ts": 1709294400, "actor_id": "12345", "event_type": "login"}', None))
    lines.append((b'{"ts": 1709294400, "actor_id": "true", "event_type": "[x]"}', None))
    lines.append(
        (b'{"ts": 1709294400, "actor_id": "u", "event_type": "x", "phone": 5}', "wrong_type: phone")
    )
    lines.append(
        (
            b'{"ts": 1709294400, "actor_id": "u", "event_type": "x", "urls": [{"a": 1}]}',
            "wrong_type: urls",
        )
    )
    path = tmp_path / "fast.jsonl"
    path.write_bytes(b"\n".join(line for line, _ in lines) + b"\n")
    with caplog.at_level("DEBUG", logger="ringscope.ingest.jsonl"):
        result = _ingest(path, max_reject_rate=1.0)
    assert "refused" not in caplog.text
    expected = {i + 1: reason for i, (_, reason) in enumerate(lines) if reason}
    assert dict(zip(result.rejects["position"], result.rejects["reason"], strict=True)) == expected
    assert result.events["actor_id"].to_list() == ["12345", "true", "u1", "u1", "u1"]  # sorted


def test_same_rejects_from_gzip_and_without_final_newline(tmp_path: Path) -> None:
    plain = _ingest(_bad_file(tmp_path / "bad.jsonl"), max_reject_rate=1.0)
    zipped = tmp_path / "bad.jsonl.gz"
    zipped.write_bytes(gzip.compress((tmp_path / "bad.jsonl").read_bytes()))
    packed = _ingest(zipped, max_reject_rate=1.0)
    assert packed.rejects.select("position", "reason").equals(
        plain.rejects.select("position", "reason")
    )


def test_sealed_raw_round_trips(tmp_path: Path) -> None:
    result = _ingest(_bad_file(tmp_path / "bad.jsonl"), max_reject_rate=1.0)
    lines = {i + 1: line for i, (line, _) in enumerate(BAD_LINES)}
    for position, raw in zip(result.rejects["position"], result.rejects["raw"], strict=True):
        assert KEYRING.unseal(raw) == lines[position]


def test_rejects_file_round_trips(tmp_path: Path) -> None:
    result = _ingest(_bad_file(tmp_path / "bad.jsonl"), max_reject_rate=1.0)
    path = tmp_path / "rejects.jsonl.gz"
    write_rejects(result.rejects, path)
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        first = json.loads(handle.readline())
    assert set(first) == {"source", "position", "reason", "preview", "raw"}
    assert read_rejects(path).equals(result.rejects)


def test_reject_rate_limit_raises_with_the_result_attached(tmp_path: Path) -> None:
    path = _bad_file(tmp_path / "bad.jsonl")
    with pytest.raises(RejectRateExceeded) as info:
        _ingest(path, max_reject_rate=0.05)
    result = info.value.result  # type: ignore[attr-defined]
    assert isinstance(result, IngestResult)
    assert len(result.rejects) == sum(1 for _, r in BAD_LINES if r)
    message = str(info.value)
    assert f"{len(result.rejects)} of {result.records} records rejected" in message
    assert "limit 5.00%" in message
    # top 3 by count, ties by name
    assert "top reasons: bad_timestamp (3), wrong_type: ts (3), invalid_url (2)" in message


def test_reject_rate_at_the_limit_passes(tmp_path: Path) -> None:
    lines = [GOOD] * 19 + [b"not json"]
    path = tmp_path / "e.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert len(_ingest(path, max_reject_rate=0.05).rejects) == 1
    with pytest.raises(RejectRateExceeded):
        _ingest(path, max_reject_rate=0.04)


# --- formats ---------------------------------------------------------------------


def test_all_formats_give_the_same_events(tmp_path: Path) -> None:
    records = sample_events()
    paths = {
        "jsonl": _write_jsonl(tmp_path / "e.jsonl", records),
        "jsonl.gz": _write_jsonl(tmp_path / "e.jsonl.gz", records, compress=True),
        "ndjson": _write_jsonl(tmp_path / "e.ndjson", records),
        "csv": write_csv(tmp_path / "e.csv", records),
        "csv.gz": write_csv(tmp_path / "e.csv.gz", records, compress=True),
        "parquet": write_parquet(tmp_path / "e.parquet", records, joined_lists=False),
        "parquet-joined": write_parquet(tmp_path / "j.parquet", records, joined_lists=True),
    }
    frames = {name: _ingest(path).events for name, path in paths.items()}
    reference = frames.pop("jsonl")
    assert len(reference) == 5
    for name, frame in frames.items():
        assert frame.equals(reference), name


def test_csv_rejects_have_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(
        b"ts,actor_id,event_type,text\n"
        b"2024-03-01T12:00:00Z,u1,login,\n"
        b"\n"
        b'2024-03-01T12:00:00Z,u2,message,"two\nlines"\n'  # quoted newline; no message_id
        b"2024-03-01T12:00:00Z,u3\n"
        b"2024-03-01T12:00:00Z,u\xff,login,x\n"
        b"2024-03-01T12:00:00Z,u4,login,x,extra\n"
        b"1709294400,u5,login,ok\n"
    )
    result = _ingest(path, max_reject_rate=1.0)
    got = dict(zip(result.rejects["position"], result.rejects["reason"], strict=True))
    assert got == {
        4: "missing_field: message_id",
        6: "csv_column_count",
        7: "invalid_utf8",
        8: "csv_column_count",
    }
    assert result.events["actor_id"].to_list() == ["u1", "u5"]
    assert result.events["ts"].to_list() == [T0, T0]


def test_parquet_typed_columns(tmp_path: Path) -> None:
    path = tmp_path / "typed.parquet"
    table = pa.table(
        {
            "ts": pa.array([T0, T0 + 1000], pa.timestamp("ms", tz="UTC")),
            "actor_id": pa.array([1, 2], pa.int64()),  # ids must be strings
            "event_type": ["login", "login"],
        }
    )
    pq.write_table(table, path)
    result = _ingest(path, max_reject_rate=1.0)
    assert result.rejects["reason"].to_list() == ["wrong_type: actor_id"] * 2
    assert result.rejects["position"].to_list() == [1, 2]
    pq.write_table(table.set_column(1, "actor_id", pa.array(["a", "b"])), path)
    assert _ingest(path).events["ts"].to_list() == [T0, T0 + 1000]


def test_every_timestamp_form_gives_the_same_instant(tmp_path: Path) -> None:
    forms = [
        "2024-03-01T12:00:00Z",
        "2024-03-01T12:00:00.000Z",
        "2024-03-01T12:00:00,000+00:00",
        "2024-03-01T14:00:00+02:00",
        "2024-03-01T07:00:00-0500",
        "2024-03-01 12:00:00",
        "2024-03-01t12:00:00z",
        "2024-03-01T12:00",
        " 2024-03-01T12:00:00Z ",
        1_709_294_400,
        1_709_294_400_000,
        "1709294400",
        "1709294400000",
        1.7092944e9,
    ]
    records = [
        {"event_id": f"e{i}", "ts": ts, "actor_id": "u", "event_type": "login"}
        for i, ts in enumerate(forms)
    ]
    result = _ingest(_write_jsonl(tmp_path / "ts.jsonl", records))
    assert result.events["ts"].to_list() == [T0] * len(forms)
    date_only = _write_jsonl(
        tmp_path / "d.jsonl", [{"ts": "2024-03-01", "actor_id": "u", "event_type": "x"}]
    )
    assert _ingest(date_only).events["ts"].to_list() == [T0 - 12 * 3_600_000]


# --- dedupe, inputs, determinism ------------------------------------------------------


def test_dedupe_keeps_the_first_event_id_across_files(tmp_path: Path) -> None:
    first = [
        {"event_id": "x", "ts": 1_709_294_400, "actor_id": "a", "event_type": "login"},
        {"ts": 1_709_294_400, "actor_id": "b", "event_type": "login"},
        {"ts": 1_709_294_400, "actor_id": "b", "event_type": "login"},  # no id: kept
    ]
    second = [
        {"event_id": "x", "ts": 1_709_294_999, "actor_id": "z", "event_type": "login"},
        {"event_id": "y", "ts": 1_709_294_500, "actor_id": "c", "event_type": "login"},
        {"event_id": "y", "ts": 1_709_294_600, "actor_id": "d", "event_type": "login"},
    ]
    _write_jsonl(tmp_path / "a.jsonl", first)
    _write_jsonl(tmp_path / "b.jsonl", second)
    result = _ingest([tmp_path / "b.jsonl", tmp_path / "a.jsonl"])  # order given does not matter
    assert result.events["actor_id"].to_list() == ["a", "b", "b", "c"]
    assert result.duplicates == 2
    assert [(s.path.endswith("a.jsonl"), s.duplicates) for s in result.inputs] == [
        (True, 0),
        (False, 2),
    ]
    assert [s.accepted for s in result.inputs] == [3, 1]


def test_directory_input_is_recursive_and_sorted(tmp_path: Path) -> None:
    events = sample_events()
    root = tmp_path / "logs"
    (root / "2024" / "03").mkdir(parents=True)
    _write_jsonl(root / "2024" / "03" / "b.jsonl.gz", events[2:], compress=True)
    write_csv(root / "a.csv", events[:2])
    (root / "README.txt").write_text("not events")
    (root / ".hidden.jsonl").write_text("ignored")
    result = _ingest(root)
    assert [s.path for s in result.inputs] == [
        str(root / "2024" / "03" / "b.jsonl.gz"),
        str(root / "a.csv"),
    ]
    single = _ingest(_write_jsonl(tmp_path / "all.jsonl", events)).events
    assert result.events.equals(single)


def test_missing_path_and_bad_extension_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"input .*nope\.jsonl does not exist .*\.jsonl\[\.gz\]"):
        _ingest(tmp_path / "nope.jsonl")
    (tmp_path / "events.txt").write_text("x")
    with pytest.raises(InputError, match=r"unsupported file extension: .*events\.txt .*\.parquet"):
        _ingest(tmp_path / "events.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no event files \(.*\.csv\[\.gz\].*\) in directory"):
        _ingest(tmp_path / "empty")
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(GOOD * 100)[:-20])
    with pytest.raises(InputError, match="truncated"):
        _ingest(broken)
    garbage = tmp_path / "garbage.jsonl.gz"
    garbage.write_bytes(b"\x1f\x8b\x08\x00" + b"this is not deflate data" * 10)
    with pytest.raises(InputError, match="not a valid gzip file"):
        _ingest(garbage)


def test_every_member_of_a_concatenated_gzip_file_is_read(tmp_path: Path) -> None:
    lines = [json.dumps(e).encode() + b"\n" for e in sample_events()]
    half = len(lines) // 2
    joined = tmp_path / "joined.jsonl.gz"  # what `cat a.gz b.gz` makes
    first, second = b"".join(lines[:half]), b"".join(lines[half:])
    joined.write_bytes(gzip.compress(first) + gzip.compress(second))
    plain = _write_jsonl(tmp_path / "plain.jsonl", sample_events())
    assert _ingest(joined).events.equals(_ingest(plain).events)


def test_same_input_twice_gives_identical_frames(tmp_path: Path) -> None:
    path = _bad_file(tmp_path / "bad.jsonl")
    events = _write_jsonl(tmp_path / "good.jsonl", sample_events())
    one = _ingest([path, events], max_reject_rate=1.0)
    two = _ingest([path, events], max_reject_rate=1.0)
    assert one.events.equals(two.events)
    assert _without_raw(one.rejects).equals(_without_raw(two.rejects))  # seal nonces differ


def test_progress_bar_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _ingest(_write_jsonl(tmp_path / "e.jsonl", sample_events()), progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""


# --- privacy ---------------------------------------------------------------------

PII = [
    "Alice.Liddell+promo@googlemail.com",
    "alice.liddell",
    "7946 0958",
    "79460958",
    "Alice Liddell",
    "203.0.113.7",
    "203.0.113.8",
    "2001:db8:abcd:12::1",
    "198.51.100.9",
    "secret prize",
    "Claim your prize",
    "mallory@evil.example",
    "555 0199 321",
    "Mallory Mole",
    "192.0.2.44",
    "hidden message body",
]


def test_no_personal_data_in_events_or_rejects_file(tmp_path: Path) -> None:
    bad = [
        {  # rejected (bad timestamp) but full of personal data
            "ts": "not a time",
            "actor_id": "mallory",
            "event_type": "signup",
            "email": "mallory@evil.example",
            "phone": "+1 555 0199 321",
            "display_name": "Mallory Mole",
            "ip": "192.0.2.44",
            "text": "hidden message body",
        },
        {
            "ts": True,
            "actor_id": "m",
            "event_type": "x",
            "reason": "from 192.0.2.44 by mallory@evil.example, call +1 555 0199 321",
        },
    ]
    path = _write_jsonl(tmp_path / "e.jsonl", sample_events() + bad)
    with path.open("ab") as out:  # a truncated line, still holding personal data
        out.write(b'{"ts": 1, "display_name": "Mallory Mole", "text": "hidden message body", "em')
    result = _ingest(path, max_reject_rate=1.0)
    assert len(result.rejects) == 3
    events_text = result.events.write_ndjson()
    rejects_path = tmp_path / "rejects.jsonl.gz"
    write_rejects(result.rejects, rejects_path)
    rejects_text = gzip.decompress(rejects_path.read_bytes()).decode()
    for value in PII:
        assert value.lower() not in events_text.lower(), value
        assert value.lower() not in rejects_text.lower(), value
    previews = "\n".join(result.rejects["preview"])
    for marker in ("[redacted]", "[ip]", "[email]", "[phone]"):
        assert marker in previews, marker


def test_domains_resolve_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    resolver = DomainResolver(keyring=KEYRING)
    urls = pl.Series(
        [
            [
                "http://a.b.example.co.uk/x",
                "EXAMPLE.CO.UK:8080",
                "https://user@www.shop.example.com/?q=1",
                "https://[2001:db8::1]:443/",
                "javascript:alert(1)",
                "",
                "%%%",
            ]
        ]
    )
    assert resolver.domains(urls).to_list() == [
        ["example.co.uk", "example.com", "ip:" + KEYRING.hash("url_ip", "2001:db8::1")]
    ]


def test_shortener_links_are_keyed_by_the_short_link(tmp_path):
    from ringscope.ingest import ingest
    from ringscope.privacy import Keyring

    path = tmp_path / "e.jsonl"
    rows = [
        {
            "ts": 1790000000,
            "actor_id": "a",
            "event_type": "message",
            "message_id": "m1",
            "urls": [
                "https://bit.ly/3xYz?ref=1",
                "http://bit.ly/Other",
                "https://news.bbc.co.uk/x",
            ],
        },
        {
            "ts": 1790000001,
            "actor_id": "b",
            "event_type": "message",
            "message_id": "m2",
            "urls": ["bit.ly", "https://www.example.com/bit.ly/zz"],
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    events = ingest([path], keyring=Keyring(b"k" * 20)).events.sort("actor_id")
    assert events["domains"].to_list() == [
        ["bit.ly/3xYz", "bit.ly/Other", "bbc.co.uk"],
        ["bit.ly", "example.com"],
    ]


def test_parallel_jsonl_reading_matches_serial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks parsed by worker processes give exactly what reading serially gives."""
    from ringscope.ingest import pipeline

    lines = [orjson.dumps(e) for e in sample_events()] * 40 + [line for line, _ in BAD_LINES]
    lines += [orjson.dumps(e) for e in sample_events()[::-1]] * 5
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(b"\n".join(lines)))
    write_csv(tmp_path / "b.csv", sample_events())
    _write_jsonl(tmp_path / "c.jsonl", [*sample_events()[:3], sample_events()[0]])

    def run() -> IngestResult:
        return _ingest([tmp_path], max_reject_rate=1.0)

    serial = run()
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(pipeline, "PARALLEL_BLOCK_BYTES", 1500)
    parallel = run()
    assert len(serial.rejects) > 0 and serial.duplicates > 0
    assert parallel.events.equals(serial.events)
    assert _without_raw(parallel.rejects).equals(_without_raw(serial.rejects))
    unseal = [KEYRING.unseal(t) for t in parallel.rejects["raw"]]
    assert unseal == [KEYRING.unseal(t) for t in serial.rejects["raw"]]
    assert parallel.inputs == serial.inputs
    assert parallel.duplicates == serial.duplicates


def test_forked_hashing_matches_keyring_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    from ringscope.ingest import hashing

    values = pl.Series("v", ["a", "bé", " x@y.z", "a b", "0"] * 3).unique(maintain_order=True)
    expected = [KEYRING.hash("account", v) for v in values]
    monkeypatch.setattr(hashing, "PARALLEL_MIN", 0)
    assert hashing.hash_distinct(KEYRING, "account", values).to_list() == expected
    background = hashing.BackgroundHashes(KEYRING, {"a": ("account", values), "b": ("ip", values)})
    try:
        uniques, keys = background.get("b")
        assert keys.to_list() == [KEYRING.hash("ip", v) for v in uniques]
        uniques, keys = background.get("a")
        assert keys.to_list() == [KEYRING.hash("account", v) for v in uniques]
    finally:
        background.close()


def test_ingest_workers_start_with_polars_no_decay_allocator() -> None:
    """Polars sets its allocator variable when it loads; the workers' options go after it."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from ringscope.ingest import pipeline

    before = os.environ.get("_RJEM_MALLOC_CONF")
    assert before  # written by Polars itself on import
    with pipeline._polars_keeps_freed_memory():
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            seen = pool.submit(os.getenv, "_RJEM_MALLOC_CONF").result()
    assert seen == before + ",dirty_decay_ms:-1,muzzy_decay_ms:-1"
    assert os.environ.get("_RJEM_MALLOC_CONF") == before
