"""Verdicts survive a restart and follow a ring into a newer snapshot (hot swap)."""

from __future__ import annotations

import threading
import time

import polars as pl
from fastapi.testclient import TestClient

from ringscope.api.app import create_app
from ringscope.snapshot import publish_snapshot, read_table
from tests.api.conftest import publish_copy


def wait_for_snapshot(client: TestClient, headers: dict, snapshot_id: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if client.get("/v1/snapshots", headers=headers).json()["current"] == snapshot_id:
            return
        time.sleep(0.05)
    raise AssertionError(f"server never switched to {snapshot_id}")


def continuing_cluster(snapshots) -> dict:
    """A ring of ``early`` that lives on in ``full`` under the same id."""
    lineage = read_table(snapshots.full, "lineage")
    early_ids = set(read_table(snapshots.early, "clusters")["cluster_id"])
    kept = lineage.filter(pl.col("cluster_id").is_in(list(early_ids)))
    assert kept.height >= len(early_ids) // 2, "most rings should keep their id"
    return kept.sort("cluster_id").row(0, named=True)


def test_full_snapshot_has_lineage_against_early(snapshots):
    lineage = read_table(snapshots.full, "lineage")
    clusters = read_table(snapshots.full, "clusters")
    assert lineage["cluster_id"].sort().to_list() == clusters["cluster_id"].sort().to_list()
    assert set(lineage["status"]) - {"new"}, "a later snapshot links to the earlier one"
    members = read_table(snapshots.full, "members")
    assert set(members["cluster_id"]) == set(clusters["cluster_id"])
    actors = read_table(snapshots.full, "actors").drop_nulls("cluster_id")
    assert set(actors["cluster_id"]) == set(clusters["cluster_id"])


def test_verdict_survives_restart_and_new_snapshot(settings, keys, root, snapshots):
    headers = {"Authorization": f"Bearer {keys['investigator']}"}
    ring = continuing_cluster(snapshots)
    cid = ring["cluster_id"]
    with TestClient(create_app(settings)) as first:
        posted = first.post(
            f"/v1/clusters/{cid}/verdicts", json={"verdict": "confirmed"}, headers=headers
        )
        assert posted.status_code == 201

    with TestClient(create_app(settings)) as second:
        shown = second.get(f"/v1/clusters/{cid}", headers=headers).json()
        assert shown["verdict"]["id"] == posted.json()["id"]
        assert shown["lineage"]["status"] == "new"

        publish_copy(snapshots.full, root)
        wait_for_snapshot(second, headers, snapshots.full.name)
        later = second.get(f"/v1/clusters/{cid}", headers=headers).json()
        assert later["lineage"] == {"status": ring["status"], "previous_ids": ring["previous_ids"]}
        assert later["verdict"]["verdict"] == "confirmed"
        assert later["verdict"]["snapshot_id"] == snapshots.early.name
        queue = second.get("/v1/clusters", params={"verdict": "confirmed"}, headers=headers)
        assert [c["cluster_id"] for c in queue.json()["items"]] == [cid]


def test_requests_never_see_a_half_loaded_snapshot(client, auth, root, snapshots):
    headers = auth("investigator")
    expected = {
        snapshots.early.name: read_table(snapshots.early, "clusters").height,
        snapshots.full.name: read_table(snapshots.full, "clusters").height,
    }
    seen: list[tuple[str, int]] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            page = client.get("/v1/clusters", params={"limit": 200}, headers=headers).json()
            seen.append((page["snapshot_id"], page["total"]))
            assert len(page["items"]) == page["total"]

    reader = threading.Thread(target=hammer)
    reader.start()
    try:
        publish_copy(snapshots.full, root)
        wait_for_snapshot(client, headers, snapshots.full.name)
    finally:
        stop.set()
        reader.join()
    assert {s for s, _ in seen} <= set(expected)
    assert all(expected[s] == total for s, total in seen)
    assert seen[-1][0] == snapshots.full.name


def test_a_broken_new_snapshot_keeps_the_old_one_serving(client, auth, root, snapshots):
    headers = auth("investigator")

    def write(tmp):
        for f in snapshots.full.iterdir():
            (tmp / f.name).write_bytes(b"not parquet" if f.suffix == ".parquet" else f.read_bytes())

    publish_snapshot(root, "99990101T000000000000Z", write)
    time.sleep(0.5)
    assert client.get("/v1/snapshots", headers=headers).json()["current"] == snapshots.early.name
    assert client.get("/readyz").status_code == 200
