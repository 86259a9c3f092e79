"""``ringscope compact`` on real stream roots: every event kept, in order, with the same
event table a batch reads; duplicates of compacted events still recognised by a
restarted server; refused beside a live server and on bad paths; ``kill -9`` at random
points of a compaction leaves the old or the new log, never a mix; the next micro-batch
fits the risk model again; and a server configured to compact does it between batches,
and a batch over its compacted log clusters as a batch run of the same events (ARI).
"""

from __future__ import annotations

import gzip
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import polars as pl
import pytest

from ringscope.cli import main
from ringscope.config import RunConfig
from ringscope.ingest import ingest
from ringscope.pipeline import run_pipeline
from ringscope.privacy import Keyring
from ringscope.snapshot import latest_snapshot, read_manifest
from ringscope.store import open_store
from ringscope.stream.batch_run import run_stream_batch
from ringscope.stream.check import EventChecker, canonical_line, event_key
from ringscope.stream.compact import JOURNAL, STAGING, compact, rebase_generation
from ringscope.stream.ingest_cache import cached_ingest, merge_ingested
from ringscope.stream.log import EventLog, StreamLocked, lock_stream, sealed_segments
from ringscope.worlds import WorldConfig, generate_world, write_world
from tests.serving import stop_server, wait_until_up
from tests.stream.agreement import cluster_ari

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="flock, /proc")

SECRET = "compact-test-secret-0123456789"
KEYRING = Keyring(SECRET.encode())
SEGMENTS = 12
ENV = os.environ | {"RINGSCOPE_SECRET_KEY": SECRET, "RINGSCOPE_DATABASE_URL": ""}


@dataclass
class Template:
    root: Path
    events: list[dict]  # the world's events, in the order they were posted
    sealed: list[bytes]  # the sealed lines, in log order
    active: bytes  # the active segment's content
    table: pl.DataFrame  # the event table of one ingest of the sealed segments


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ringscope.cli", *args],
        capture_output=True,
        text=True,
        env=env or ENV,
        timeout=300,
    )


def _sealed_lines(root: Path) -> list[bytes]:
    return [x for s in sealed_segments(root) for x in s.read_bytes().split(b"\n") if x]


def _cached_table(root: Path) -> pl.DataFrame:
    """The event table a micro-batch reads: each sealed segment's (cached) ingest, merged."""
    cache = root / "stream" / "cache"
    return merge_ingested([cached_ingest(s, cache, KEYRING) for s in sealed_segments(root)]).events


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """A stream root of 12 sealed segments (each with its cache entry, as batches leave
    them) and an active segment of a few events."""
    base = tmp_path_factory.mktemp("compact")
    world = write_world(generate_world(WorldConfig(n_legit=200), seed=5), base / "world")
    with gzip.open(next(p for p in world if p.name.startswith("events")), "rb") as fh:
        events = [orjson.loads(line) for line in fh if line.strip()]
    events.sort(key=lambda e: str(e["ts"]))
    root = base / "root"
    root.mkdir()
    log = EventLog(root).open()
    checker = EventChecker(KEYRING)
    posted, tail = events[:-20], events[-20:]
    size = len(posted) // SEGMENTS + 1
    for i in range(SEGMENTS):
        log.append(checker.check(posted[i * size : (i + 1) * size]))
        log.seal()
    log.append(checker.check(tail))
    log.close()
    table = _cached_table(root)  # also leaves one cache entry per segment
    assert table.equals(ingest(sealed_segments(root), keyring=KEYRING).events)
    (active,) = (root / "stream" / "active").iterdir()
    return Template(root, events, _sealed_lines(root), active.read_bytes(), table)


def _copy(template: Template, dst: Path) -> Path:
    shutil.copytree(template.root, dst)
    return dst


def test_compact_keeps_every_event_and_the_event_table(template: Template, tmp_path) -> None:
    root = _copy(template, tmp_path / "root")
    done = _cli("compact", str(root), "--verify", "--json")
    assert done.returncode == 0, done.stderr
    report = orjson.loads(done.stdout)
    assert (report["segments_before"], report["segments_after"]) == (SEGMENTS, 1)
    assert report["segment_bytes_after"] == report["segment_bytes_before"]
    assert (report["cache_entries_before"], report["cache_entries_after"]) == (SEGMENTS, 1)
    assert report["events"] == len(template.sealed) and report["duplicates_dropped"] == 0
    assert report["verified"] is True and report["generation"] == 1
    # the same lines in the same order, in one segment named after the newest it replaced
    (segment,) = sealed_segments(root)
    assert segment.name == f"seg-{SEGMENTS:08d}.jsonl"
    assert _sealed_lines(root) == template.sealed
    (active,) = (root / "stream" / "active").iterdir()
    assert active.read_bytes() == template.active
    # the merged cache entry is what a batch reads, and it is the event table of before
    assert [p.name for p in (root / "stream" / "cache").iterdir()] == [segment.name]
    assert _cached_table(root).equals(template.table)
    assert not (root / "stream" / JOURNAL).exists() and not (root / "stream" / STAGING).exists()
    assert rebase_generation(root) == 1
    # the reopened log counts and numbers as before
    log = EventLog(root).open()
    try:
        assert log.sealed_total == len(template.sealed)
        assert log.total == len(template.sealed) + template.active.count(b"\n")
    finally:
        log.close()


def test_a_size_bound_keeps_several_segments_in_order(template: Template, tmp_path) -> None:
    root = _copy(template, tmp_path / "root")
    total = sum(s.stat().st_size for s in sealed_segments(root))
    report = compact(root, keyring=KEYRING, max_segment_bytes=total // 3 + 1)
    assert 3 <= report.segments_after <= 4
    assert _sealed_lines(root) == template.sealed
    assert _cached_table(root).equals(template.table)
    # again with the same bound: nothing left to merge, the segments stay as they are
    names = [s.name for s in sealed_segments(root)]
    again = compact(root, keyring=KEYRING, max_segment_bytes=total // 3 + 1)
    assert again.merged_segments == 0 and [s.name for s in sealed_segments(root)] == names
    assert again.generation == 2  # re-based all the same


def test_without_a_key_the_next_batch_makes_the_cache(template: Template, tmp_path) -> None:
    root = _copy(template, tmp_path / "root")
    env = {k: v for k, v in ENV.items() if k != "RINGSCOPE_SECRET_KEY"}
    done = _cli("compact", str(root), env=env)
    assert done.returncode == 0, done.stderr
    assert "not made (no key given)" in done.stdout
    assert not any((root / "stream" / "cache").iterdir())  # no stale entry left behind
    assert _cached_table(root).equals(template.table)


def test_bad_roots_are_refused(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("RINGSCOPE_SECRET_KEY", raising=False)
    (tmp_path / "file").write_text("x")
    (tmp_path / "snapshots").mkdir()
    expected = {
        tmp_path / "missing": "no such stream root",
        tmp_path / "file": "not a directory",
        tmp_path / "snapshots": "is not a stream root",
    }
    for path, message in expected.items():
        assert main(["compact", str(path)]) == 2
        assert message in capsys.readouterr().err
    stream = tmp_path / "stream-root"
    (stream / "stream" / "log").mkdir(parents=True)
    assert main(["compact", str(stream), "--verify"]) == 2
    assert "RINGSCOPE_SECRET_KEY is not set" in capsys.readouterr().err
    assert main(["compact", str(stream), "--max-segment-mb", "0"]) == 2
    assert "max segment size must be positive" in capsys.readouterr().err
    assert main(["compact", str(stream), "--keep-batch-lines", "-1"]) == 2
    assert "0 or more" in capsys.readouterr().err
    # a root being compacted is not opened by a server either
    lock = lock_stream(stream, "ringscope compact")
    try:
        with pytest.raises(StreamLocked, match=rf"process {os.getpid()} \(ringscope compact\)"):
            EventLog(stream).open()
    finally:
        os.close(lock)
    EventLog(stream).open().close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _server(root: Path, *extra: str) -> Iterator[tuple[subprocess.Popen, str, dict]]:
    """``ringscope serve --ingest`` on ``root`` once it answers: (process, url, headers)."""
    store = open_store(f"sqlite:///{root / 'ringscope.sqlite3'}")
    secret = store.create_key(f"feeder-{time.monotonic_ns()}", "admin")[1]
    store.close()
    port = _free_port()
    command = [sys.executable, "-m", "ringscope.cli", "serve", "--snapshot", str(root)]
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--ingest", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=ENV,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, f"{url}/healthz")
        yield proc, url, {"Authorization": f"Bearer {secret}"}
    finally:
        stop_server(proc)


def _post(url: str, headers: dict, events: list[dict]) -> dict:
    answer = httpx.post(
        f"{url}/v1/events", content=orjson.dumps(events), headers=headers, timeout=60
    )
    assert answer.status_code == 202, answer.text
    return answer.json()


@pytest.mark.slow
def test_a_live_server_refuses_compact_and_still_knows_compacted_events(
    template: Template, tmp_path: Path
) -> None:
    root = _copy(template, tmp_path / "root")
    assert _cli("compact", str(root)).returncode == 0
    first = template.events[:300]  # in the oldest segments, now merged
    with _server(root, "--batch-interval", "3600") as (proc, url, headers):
        refused = _cli("compact", str(root))
        assert refused.returncode == 2
        assert f"in use by process {proc.pid} (ringscope serve --ingest)" in refused.stderr
        assert _sealed_lines(root) == template.sealed  # untouched
        again = _post(url, headers, first)
        assert (again["accepted"], again["duplicates"]) == (len(first), len(first))
        new = _post(url, headers, [first[0] | {"event_id": "after-compaction-1"}])
        assert (new["accepted"], new["duplicates"]) == (1, 0)
    # the server is gone: its lock went with it
    assert _cli("compact", str(root)).returncode == 0


def _state(root: Path, template: Template) -> str:
    """Open the root as a restarted server would; check it; 'old' or 'new' log."""
    segments = len(sealed_segments(root))
    log = EventLog(root).open()  # finishes or discards the interrupted compaction
    try:
        assert _sealed_lines(root) == template.sealed, "sealed events lost or doubled"
        (active,) = (root / "stream" / "active").iterdir()
        assert active.read_bytes() == template.active
        assert log.sealed_total == len(template.sealed)
    finally:
        log.close()
    assert not (root / "stream" / JOURNAL).exists() and not (root / "stream" / STAGING).exists()
    assert _cached_table(root).equals(template.table)
    after = len(sealed_segments(root))
    assert after in (1, SEGMENTS), f"{segments} segments before recovery, {after} after"
    return "new" if after == 1 else "old"


@pytest.mark.slow
def test_a_kill_at_any_point_leaves_the_old_or_the_new_log(template: Template, tmp_path) -> None:
    """``kill -9`` a compaction at random moments while it writes, commits and applies."""
    dice = random.Random(15)

    def start(root: Path) -> subprocess.Popen:
        command = [sys.executable, "-m", "ringscope.cli", "compact", str(root)]
        return subprocess.Popen(
            command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def wait_for(proc: subprocess.Popen, path: Path) -> None:
        while proc.poll() is None and not path.exists():
            time.sleep(0.0005)

    # a full run first: how long its work takes once the staging folder appears
    root = _copy(template, tmp_path / "full")
    proc = start(root)
    wait_for(proc, root / "stream" / STAGING)
    working = time.monotonic()
    assert proc.wait(timeout=300) == 0
    work_s = time.monotonic() - working
    outcomes = []
    for i in range(8):
        root = _copy(template, tmp_path / f"kill-{i}")
        proc = start(root)
        if i % 4 == 3:  # right after the commit point, while it is applied
            wait_for(proc, root / "stream" / JOURNAL)
        else:  # at a random moment of its work
            wait_for(proc, root / "stream" / STAGING)
            time.sleep(dice.uniform(0, work_s * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        pending = (root / "stream" / JOURNAL).exists()
        outcomes.append((_state(root, template), pending))
    states = {state for state, _ in outcomes}
    assert states == {"old", "new"}, outcomes  # killed before and after the commit point
    assert all(state == "new" for state, pending in outcomes if pending)


@pytest.mark.slow
def test_the_next_batch_after_compaction_fits_the_risk_model_again(
    template: Template, tmp_path: Path, monkeypatch
) -> None:
    root = _copy(template, tmp_path / "root")
    monkeypatch.setenv("RINGSCOPE_SECRET_KEY", SECRET)

    def risk(snapshot: Path) -> dict:
        return read_manifest(snapshot)["steps"]["ranking"]["risk_model"]["stream"]

    assert risk(run_stream_batch(root))["refit"] is True
    assert risk(run_stream_batch(root))["refit"] is False  # kept
    compact(root, keyring=KEYRING)
    after = risk(run_stream_batch(root))
    assert after["refit"] is True and "compacted" in after["why"]


@pytest.mark.slow
def test_a_server_configured_to_compact_does_it_between_batches(
    template: Template, tmp_path: Path, monkeypatch
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    config = tmp_path / "stream.toml"
    config.write_text("[stream]\ncompact_segments = 2\n")
    chunks = [template.events[i : i + 800] for i in range(0, 4000, 800)]
    with _server(root, "--batch-interval", "0.5", "--config", str(config)) as (_, url, headers):
        for chunk in chunks:
            _post(url, headers, chunk)
            deadline = time.monotonic() + 300
            while True:
                answer = httpx.get(f"{url}/v1/stats", headers=headers, timeout=10)
                if answer.status_code == 200 and answer.json()["stream"]["backlog"] == 0:
                    break
                assert time.monotonic() < deadline, "the stream did not publish in time"
                time.sleep(0.3)
        deadline = time.monotonic() + 120  # the compaction follows the batch's publication
        while len(sealed_segments(root)) > 2:
            assert time.monotonic() < deadline, "the server did not compact"
            time.sleep(0.3)
    posted = [e for chunk in chunks for e in chunk]
    keys = [event_key(orjson.loads(x), x) for x in _sealed_lines(root)]
    assert len(keys) == len(set(keys))
    assert set(keys) == {event_key(e, canonical_line(e)) for e in posted}
    assert rebase_generation(root) >= 1
    batches = [
        orjson.loads(x) for x in (root / "stream" / "batches.jsonl").read_bytes().splitlines()
    ]
    assert any("compacted" in (b["risk_refit_why"] or "") for b in batches)
    inputs = read_manifest(latest_snapshot(root))["inputs"]
    assert sum(i["records"] for i in inputs) == len(keys)
    # a batch over the compacted log (fitted afresh: re-based) clusters as a batch run of
    # the same events does
    posted_file = tmp_path / "posted.jsonl"
    posted_file.write_bytes(b"".join(canonical_line(e) + b"\n" for e in posted))
    monkeypatch.setenv("RINGSCOPE_SECRET_KEY", SECRET)
    streamed = run_stream_batch(root)
    batch = run_pipeline([posted_file], tmp_path / "batch", config=RunConfig(), keyring=KEYRING)
    assert cluster_ari(streamed, batch) >= 0.95
