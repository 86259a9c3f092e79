"""``kill -9`` of a real ``ringscope run``: no process of it survives, and the next run
removes the ``.partial`` directory it left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from ringscope.lifetime import live_group_members as _group
from ringscope.worlds import WorldConfig, generate_world, write_world

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform != "linux", reason="/proc")]
needs_workers = pytest.mark.skipif(
    (os.cpu_count() or 1) < 2, reason="ingest starts worker processes only with 2+ CPUs"
)


def _run(events: Path, out: Path) -> subprocess.Popen:
    """``ringscope run`` in a process group of its own (so its descendants can be found)."""
    return subprocess.Popen(
        [sys.executable, "-m", "ringscope.cli", "run", str(events), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=os.environ | {"RINGSCOPE_SECRET_KEY": "kill-test-secret-0123456789abcdef"},
    )


def _wait_until(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def _kill_and_reap(proc: subprocess.Popen) -> None:
    """SIGKILL the run unless it already ended (and was reaped by ``poll``)."""
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _large_events(path: Path) -> Path:
    """A JSONL file past the size at which ingest starts its worker processes."""
    lines = (
        orjson.dumps(
            {
                "ts": 1_709_294_400 + i,
                "actor_id": f"a{i % 5000}",
                "event_type": "message",
                "message_id": f"m{i}",
                "text": f"message body number {i} " + "lorem ipsum " * 8,
                "urls": [f"https://site{i % 300}.example/p/{i}"],
            }
        )
        for i in range(150_000)
    )
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@needs_workers
def test_no_worker_survives_a_killed_run(tmp_path: Path) -> None:
    events = _large_events(tmp_path / "events.jsonl")
    assert events.stat().st_size > 16 << 20
    proc = _run(events, tmp_path / "snaps")
    try:
        # the run itself, its resource tracker and at least one ingest worker
        assert _wait_until(lambda: len(_group(proc.pid)) >= 3, 120), _group(proc.pid)
        assert proc.poll() is None
    finally:
        _kill_and_reap(proc)
    assert _wait_until(lambda: not _group(proc.pid), 15), _group(proc.pid)


def test_the_next_run_removes_what_a_killed_publish_left(tmp_path: Path) -> None:
    world = write_world(generate_world(WorldConfig(n_legit=200), seed=5), tmp_path / "world")
    events = next(p for p in world if p.name.startswith("events"))
    root = tmp_path / "snaps"
    for _ in range(5):  # the publish window is short: try until the kill lands in it
        proc = _run(events, root)
        seen = _wait_until(
            lambda p=proc: bool(list(root.glob(".*.partial"))) or p.poll() is not None, 120
        )
        _kill_and_reap(proc)
        assert seen
        if list(root.glob(".*.partial")):
            break
    else:
        pytest.fail("no run was caught while publishing")
    assert _wait_until(lambda: not _group(proc.pid), 15), _group(proc.pid)
    proc = _run(events, root)
    assert proc.wait(timeout=300) == 0
    assert not list(root.glob(".*.partial"))
    assert (root / "LATEST").exists()
