"""The streaming service for real: ``ringscope serve --ingest`` as a process, events posted
over HTTP, ``kill -9`` half-way, a restart, a file in the drop folder, and the final
snapshot compared with a batch run on the same events.

One scenario (module fixture) and several checks of what it left: every acknowledged
event is in the log exactly once and in the final snapshot; nothing of the killed server
survives; clusters agree with the batch run (ARI >= 0.95, ring Jaccard within 0.02).
"""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import pytest

from ringscope.config import RunConfig
from ringscope.evaluation.rings import evaluate_snapshot
from ringscope.lifetime import live_group_members
from ringscope.pipeline import run_pipeline
from ringscope.privacy import Keyring
from ringscope.snapshot import latest_snapshot, read_manifest
from ringscope.store import open_store
from ringscope.stream.check import canonical_line, event_key
from ringscope.worlds import WorldConfig, generate_world, write_world
from tests.serving import stop_server, wait_until_up
from tests.stream.agreement import cluster_ari

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform != "linux", reason="/proc")]

SECRET = "stream-kill-test-secret-0123456789"
CHUNK = 250  # events per request
DROPPED_SHARE = 0.1  # the last tenth of the world arrives as a file in the drop folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _server(root: Path, drop: Path, port: int) -> Iterator[subprocess.Popen]:
    """``ringscope serve --ingest`` in its own process group, once it answers."""
    command = [sys.executable, "-m", "ringscope.cli", "serve", "--snapshot", str(root)]
    command += ["--port", str(port), "--ingest", "--batch-interval", "1", "--drop-dir", str(drop)]
    proc = subprocess.Popen(
        [*command, "--reload-interval", "0.5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=os.environ | {"RINGSCOPE_SECRET_KEY": SECRET, "RINGSCOPE_DATABASE_URL": ""},
    )
    try:
        wait_until_up(proc, f"http://127.0.0.1:{port}/healthz")
        yield proc
    finally:
        stop_server(proc)


@dataclass
class Scenario:
    root: Path
    world_events: Path
    truth: Path
    acked: list[dict] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)
    survivors_after_kill: list[int] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    actor_probe: int = 0


def _post_all(base: str, headers: dict, chunks: list[list[dict]], scenario: Scenario) -> int:
    """Post chunks in order (waiting out 429s); the index of the first not acknowledged."""
    for i, chunk in enumerate(chunks):
        while True:
            try:
                answer = httpx.post(
                    f"{base}/v1/events", content=orjson.dumps(chunk), headers=headers, timeout=30
                )
            except httpx.TransportError:
                return i
            if answer.status_code == 429:
                time.sleep(float(answer.headers["retry-after"]))
                continue
            assert answer.status_code == 202, answer.text
            body = answer.json()
            scenario.answers.append(body)
            refused = {r["index"] for r in body["rejects"]}
            scenario.acked.extend(e for j, e in enumerate(chunk) if j not in refused)
            break
    return len(chunks)


def _wait_published(base: str, headers: dict, log_events: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = httpx.get(f"{base}/v1/stats", headers=headers, timeout=10)
        if answer.status_code == 200:
            stats = answer.json()
            stream = stats["stream"]
            if stream["log_events"] >= log_events and stream["backlog"] == 0:
                last = stream["last_batch"]
                if last is None or last["dropped_files"] >= 1:
                    return stats
        time.sleep(1)
    raise AssertionError("the stream did not publish everything in time")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    base = tmp_path_factory.mktemp("stream")
    world = write_world(generate_world(WorldConfig(n_legit=200), seed=3), base / "world")
    events_path = next(p for p in world if p.name.startswith("events"))
    with gzip.open(events_path, "rb") as fh:
        events = [orjson.loads(line) for line in fh if line.strip()]
    events.sort(key=lambda e: str(e["ts"]))  # roughly time order, as a live source sends
    cut = int(len(events) * (1 - DROPPED_SHARE))
    posted, dropped = events[:cut], events[cut:]
    # malformed events mixed in: rejected with their index, never stored
    chunks = [posted[i : i + CHUNK] for i in range(0, len(posted), CHUNK)]
    chunks[1] = chunks[1] + [{"actor_id": "x", "event_type": "login"}, "not an event"]
    root, drop = base / "root", base / "drop"
    root.mkdir()
    store = open_store(f"sqlite:///{root / 'ringscope.sqlite3'}")
    secret = store.create_key("feeder", "admin")[1]
    store.close()
    headers = {"Authorization": f"Bearer {secret}"}
    scenario = Scenario(root, events_path, base / "world" / "truth.json")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    half = len(chunks) // 2
    with _server(root, drop, port) as proc:
        first = _post_all(url, headers, chunks[:half], scenario)
        assert first == half
        # let a micro-batch start, then kill -9 in the middle of it
        deadline = time.monotonic() + 60
        while len(live_group_members(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 15
        while live_group_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        scenario.survivors_after_kill = live_group_members(proc.pid)
    with _server(root, drop, port):
        # the client retries from the last chunk it sent: one chunk arrives twice
        assert _post_all(url, headers, chunks[half - 1 :], scenario) == len(chunks) - half + 1
        staged = drop / ".incoming.jsonl"
        staged.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in dropped))
        staged.rename(drop / "late-events.jsonl")
        distinct = len({event_key(e, canonical_line(e)) for e in posted})
        scenario.stats = _wait_published(url, headers, distinct, timeout=600)
        probe = httpx.get(f"{url}/v1/actors/{posted[-1]['actor_id']}", headers=headers)
        scenario.actor_probe = probe.status_code
    return scenario


def _log_lines(root: Path) -> list[bytes]:
    lines = []
    for folder in ("log", "active"):
        for path in sorted((root / "stream" / folder).glob("seg-*.jsonl")):
            lines += [line for line in path.read_bytes().splitlines() if line]
    return lines


def test_nothing_of_the_killed_server_survives(scenario: Scenario) -> None:
    assert scenario.survivors_after_kill == []


def test_every_acknowledged_event_is_logged_exactly_once(scenario: Scenario) -> None:
    logged = [event_key(orjson.loads(line), line) for line in _log_lines(scenario.root)]
    assert len(logged) == len(set(logged))
    acked = {event_key(e, canonical_line(e)) for e in scenario.acked}
    assert acked <= set(logged)
    answers = scenario.answers
    assert sum(a["rejected"] for a in answers) == 2
    assert any(a["duplicates"] >= CHUNK for a in answers)  # the re-sent chunk


def test_the_final_snapshot_holds_the_log_and_the_dropped_file(scenario: Scenario) -> None:
    snapshot = latest_snapshot(scenario.root)
    manifest = read_manifest(snapshot)
    by_folder: dict[str, int] = {}
    for entry in manifest["inputs"]:
        folder = Path(entry["path"]).parent.name
        by_folder[folder] = by_folder.get(folder, 0) + entry["records"]
    assert by_folder["log"] == len(_log_lines(scenario.root))
    assert by_folder["dropped"] > 0 and not any((scenario.root.parent / "drop").iterdir())
    assert scenario.stats["stream"]["backlog"] == 0
    assert scenario.actor_probe == 200
    assert scenario.stats["run"]["reject_rate"] == 0.0


def test_streamed_clusters_match_a_batch_run(scenario: Scenario, tmp_path: Path) -> None:
    streamed = latest_snapshot(scenario.root)
    batch = run_pipeline(
        [scenario.world_events], tmp_path, config=RunConfig(), keyring=Keyring(SECRET.encode())
    )
    assert cluster_ari(streamed, batch) >= 0.95
    jaccard = [evaluate_snapshot(s, scenario.truth).weighted_jaccard for s in (streamed, batch)]
    assert abs(jaccard[0] - jaccard[1]) <= 0.02
