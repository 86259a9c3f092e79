"""A broken newest snapshot never takes the service down, and never hides.

The server validates a snapshot completely (its tables and its offender index) before
serving it, falls back to the newest valid one, and says so in ``/readyz`` and
``/v1/snapshots``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ringscope.api.app import create_app
from tests.api.conftest import ApiEnv, Snapshots, publish_copy

SIGNUP = {"actor_id": "u-new-1", "ts": "2026-01-01T00:00:00Z", "email": "x@example.com"}


def _broken_copy(snapshot: Path, base: Path, table: str) -> Path:
    """A copy of ``snapshot`` whose ``table`` file is cut to half its length."""
    copy = base / "broken" / snapshot.name
    shutil.copytree(snapshot, copy)
    path = copy / f"{table}.parquet"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return copy


def _wait_for(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize("table", ["clusters", "offenders"])
def test_a_fresh_server_falls_back_to_the_newest_valid_snapshot(
    env: ApiEnv, snapshots: Snapshots, tmp_path: Path, auth, table: str
) -> None:
    broken = publish_copy(_broken_copy(snapshots.full, tmp_path, table), env.root)
    with TestClient(create_app(env.settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        body = ready.json()
        assert body["snapshot_id"] == snapshots.early.name
        assert body["degraded"] is True
        assert [p["snapshot_id"] for p in body["problems"]] == [broken.name]
        assert table in body["problems"][0]["reason"]

        queue = client.get("/v1/clusters", headers=auth("investigator"))
        assert queue.status_code == 200 and queue.json()["snapshot_id"] == snapshots.early.name
        check = client.post("/v1/signup/check", json=SIGNUP, headers=auth("service"))
        assert check.status_code == 200, check.text
        assert check.json()["snapshot_id"] == snapshots.early.name

        listed = client.get("/v1/snapshots", headers=auth("investigator")).json()
        assert listed["current"] == snapshots.early.name and listed["degraded"] is True
        by_id = {s["snapshot_id"]: s for s in listed["items"]}
        assert by_id[broken.name]["valid"] is False
        assert table in by_id[broken.name]["problem"]
        assert by_id[snapshots.early.name]["valid"] is True


def test_a_running_server_keeps_serving_and_says_why(
    env: ApiEnv, snapshots: Snapshots, tmp_path: Path, auth
) -> None:
    with TestClient(create_app(env.settings)) as client:
        first = client.get("/readyz").json()
        assert first["degraded"] is False and first["problems"] == []
        broken = publish_copy(_broken_copy(snapshots.full, tmp_path, "clusters"), env.root)
        _wait_for(lambda: client.get("/readyz").json()["degraded"])
        ready = client.get("/readyz").json()
        assert ready["snapshot_id"] == snapshots.early.name
        assert ready["problems"][0]["snapshot_id"] == broken.name


def test_only_a_broken_snapshot_is_503_everywhere_never_500(
    tmp_path: Path, snapshots: Snapshots, auth, settings, keys
) -> None:
    root = tmp_path / "only"
    publish_copy(_broken_copy(snapshots.early, tmp_path, "offenders"), root)
    only = settings.model_copy(update={"snapshot_root": root})
    with TestClient(create_app(only)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "offenders" in ready.json()["detail"]
        check = client.post("/v1/signup/check", json=SIGNUP, headers=auth("service"))
        assert check.status_code == 503
