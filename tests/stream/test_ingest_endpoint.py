"""``POST /v1/events`` and the event log on real files: the same checks as batch ingest,
durable idempotent appends, torn-line repair, back-pressure and body caps.

The app runs without its lifespan here (no micro-batcher), so the backlog only grows:
the 429 is deterministic. The micro-batches themselves, over a real server killed with
``kill -9``, are in ``test_stream_server.py``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from ringscope.api.app import create_app
from ringscope.api.settings import ApiSettings
from ringscope.ingest import ingest
from ringscope.privacy import Keyring
from ringscope.store import ROLES, open_store
from ringscope.stream.check import EventChecker
from ringscope.stream.log import EventLog

KEYRING = Keyring(b"stream-test-secret-0123456789")

GOOD = {"ts": "2026-03-01T10:00:00Z", "actor_id": "a1", "event_type": "login", "event_id": "e1"}
#: one element per reject code the batch path gives a JSON record, and a few valid ones
MIXED = [
    GOOD,
    {"ts": "2026-03-01T10:01:00Z", "actor_id": "a2", "event_type": "login"},  # no event_id
    {"ts": "yesterday", "actor_id": "a3", "event_type": "login"},
    {"ts": 1_772_000_000, "event_type": "login"},
    {"ts": 1_772_000_000, "actor_id": 42, "event_type": "login"},
    {"ts": 1_772_000_000, "actor_id": "a4", "event_type": "message"},
    {"ts": 1_772_000_000, "actor_id": "a5", "event_type": "login", "ip": "999.1.1.1"},
    {"ts": 1_772_000_000, "actor_id": "a6", "event_type": "post", "urls": ["no host"]},
    [1, 2],
    "text",
]


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line]


def test_reject_reasons_are_those_of_batch_ingest(tmp_path: Path) -> None:
    checked = EventChecker(KEYRING).check(MIXED)
    events_file = tmp_path / "events.jsonl"
    events_file.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in MIXED))
    batch = ingest([events_file], keyring=KEYRING, max_reject_rate=1.0)
    assert [i for i, _, _ in checked.accepted] == [0, 1]
    # batch positions are 1-based lines, posted ones 0-based indexes: same records, same codes
    assert checked.rejects["position"].to_list() == [p - 1 for p in batch.rejects["position"]]
    assert checked.rejects["reason"].to_list() == batch.rejects["reason"].to_list()
    assert len(set(checked.rejects["reason"])) == 7


def test_appends_are_idempotent_across_reopen_and_a_torn_line_is_cut(tmp_path: Path) -> None:
    checker = EventChecker(KEYRING)
    log = EventLog(tmp_path).open()
    first = log.append(checker.check([GOOD, MIXED[1]]))
    assert (first.stored, first.duplicates) == (2, 0)
    log.close()
    active = next((tmp_path / "stream" / "active").iterdir())
    with open(active, "ab") as fh:  # what a kill in the middle of an append leaves
        fh.write(b'{"actor_id":"a9","event_')
    log = EventLog(tmp_path).open()
    assert log.total == 2 and active.read_bytes().endswith(b"\n")
    # the same events again (a client retrying after a lost answer): nothing stored,
    # whether keyed by event_id (GOOD, its id padded) or by content hash (MIXED[1])
    again = log.append(checker.check([GOOD | {"event_id": " e1 "}, MIXED[1], MIXED[1]]))
    assert (again.stored, again.duplicates) == (0, 3)
    assert log.seal() == 2
    new = log.append(checker.check([GOOD | {"event_id": "e2"}]))
    assert new.stored == 1
    assert [p.name for p in (tmp_path / "stream" / "log").iterdir()] == [active.name]
    log.close()
    reopened = EventLog(tmp_path).open()
    assert (reopened.total, reopened.sealed_total) == (3, 2)
    reopened.close()


@pytest.fixture
def ingest_app(tmp_path: Path) -> tuple[TestClient, dict[str, dict[str, str]], Path]:
    root = tmp_path / "root"
    root.mkdir()  # an empty root: no snapshot yet is a valid start
    settings = ApiSettings(snapshot_root=root, ingest=True, max_backlog=5, max_body_bytes=20_000)
    store = open_store(settings.database_url)
    try:
        keys = {r: store.create_key(f"{r}-key", r)[1] for r in ROLES}
    finally:
        store.close()
    headers = {r: {"Authorization": f"Bearer {k}"} for r, k in keys.items()}
    return TestClient(create_app(settings, keyring=KEYRING)), headers, root


def test_post_events_answers_after_storing(ingest_app) -> None:
    client, headers, root = ingest_app
    answer = client.post("/v1/events", json=MIXED, headers=headers["service"])
    assert answer.status_code == 202
    body = answer.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 8)
    assert body["rejects"][0] == {"index": 2, "reason": "bad_timestamp"}
    assert body["rejects"][-1] == {"index": 9, "reason": "not_an_object"}
    logged = [orjson.loads(x) for x in _lines(next((root / "stream" / "active").iterdir()))]
    assert logged == [GOOD, MIXED[1]]
    kept = [orjson.loads(x) for x in _lines(root / "stream" / "rejects.jsonl")]
    assert [r["position"] for r in kept] == [r["index"] for r in body["rejects"]]
    assert orjson.loads(KEYRING.unseal(kept[0]["raw"])) == MIXED[2]  # sealed, kept whole
    assert "a3" not in kept[0]["preview"]
    retry = client.post("/v1/events", json=MIXED[:2], headers=headers["service"]).json()
    assert (retry["accepted"], retry["duplicates"]) == (2, 2)


def test_post_events_refusals(ingest_app) -> None:
    client, headers, _ = ingest_app
    post = client.post
    assert post("/v1/events", json=MIXED, headers=headers["investigator"]).status_code == 403
    assert post("/v1/events", json=GOOD, headers=headers["service"]).status_code == 400
    bad_json = post("/v1/events", content=b"[{", headers=headers["service"])
    assert bad_json.status_code == 400
    big = post("/v1/events", content=b"[" + b" " * 30_000 + b"]", headers=headers["service"])
    assert big.status_code == 413
    many = [GOOD | {"event_id": f"e{i}"} for i in range(6)]
    assert post("/v1/events", json=many, headers=headers["service"]).status_code == 202
    refused = post("/v1/events", json=[GOOD | {"event_id": "x"}], headers=headers["service"])
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    metrics = client.get("/metrics", headers=headers["admin"]).text
    assert "ringscope_ingest_backlog_events 6.0" in metrics
    assert "ringscope_ingest_refused_requests_total 1.0" in metrics


def test_without_ingest_there_is_no_events_route(tmp_path: Path) -> None:
    settings = ApiSettings(snapshot_root=tmp_path)
    store = open_store(settings.database_url)
    secret = store.create_key("svc", "service")[1]
    store.close()
    client = TestClient(create_app(settings))
    answer = client.post("/v1/events", json=[GOOD], headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code in (404, 405)
    assert not (tmp_path / "stream").exists()


def test_posted_records_and_a_file_give_the_same_events(tmp_path: Path) -> None:
    """The log a micro-batch reads holds the posted events as ingest reads them."""
    log = EventLog(tmp_path).open()
    log.append(EventChecker(KEYRING).check(MIXED))
    log.seal()
    direct = tmp_path / "direct.jsonl.gz"
    with gzip.open(direct, "wb") as fh:
        fh.writelines(orjson.dumps(e) + b"\n" for e in MIXED[:2])
    from_log = ingest([tmp_path / "stream" / "log"], keyring=KEYRING).events
    from_file = ingest([direct], keyring=KEYRING).events
    assert from_log.drop("_source", strict=False).equals(from_file.drop("_source", strict=False))
