"""Hostile paths, against a real server: odd bytes in static paths, and actor ids no URL
segment can hold as is.

Actor ids come from event logs, so they may hold ``/``, ``?``, ``#``, ``%``, spaces or
thousands of characters; each must be reachable percent-encoded, and no path may 500.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote

import httpx
import polars as pl
import pytest

from ringscope.api.app import create_app
from tests.api.conftest import Snapshots, make_env, running_server

HOSTILE_IDS = (
    "ring/member/1",
    "/leading-slash",
    "trailing/",
    "sp ace?q=1#frag%41&x;y@z",
    "é/ü/✓",
    "x" * 300,
)


@pytest.fixture
def hostile_client(tmp_path: Path, snapshots: Snapshots):
    """A server over a copy of ``early`` whose top cluster's members got hostile ids."""
    snap = tmp_path / "src" / snapshots.early.name
    shutil.copytree(snapshots.early, snap)
    members = pl.read_parquet(snap / "members.parquet")
    top = pl.read_parquet(snap / "clusters.parquet").sort("rank")["cluster_id"][0]
    originals = members.filter(pl.col("cluster_id") == top)["actor_id"].head(len(HOSTILE_IDS))
    rename = dict(zip(originals.to_list(), HOSTILE_IDS, strict=True))
    for name in ("members", "actors"):
        table = pl.read_parquet(snap / f"{name}.parquet")
        table.with_columns(pl.col("actor_id").replace(rename)).write_parquet(
            snap / f"{name}.parquet"
        )
    for name in ("edges", "evidence"):
        table = pl.read_parquet(snap / f"{name}.parquet")
        table.with_columns(pl.col("src", "dst").replace(rename)).write_parquet(
            snap / f"{name}.parquet"
        )
    env = make_env(tmp_path, Snapshots(early=snap, full=snapshots.full, events=snapshots.events))
    headers = {"Authorization": f"Bearer {env.keys['investigator']}"}
    with running_server(create_app(env.settings)) as base, httpx.Client(base_url=base) as client:
        yield client, headers, top


@pytest.mark.parametrize("actor_id", HOSTILE_IDS)
def test_any_actor_id_is_reachable_percent_encoded(hostile_client, actor_id):
    client, headers, top = hostile_client
    response = client.get(f"/v1/actors/{quote(actor_id, safe='')}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["actor_id"] == actor_id and body["cluster_id"] == top
    assert body["neighbours"], "the renamed members keep their evidence"
    queue = client.get("/v1/clusters", params={"contains_actor": actor_id}, headers=headers)
    assert [c["cluster_id"] for c in queue.json()["items"]] == [top]


def test_an_unknown_actor_with_a_slash_is_a_404(hostile_client):
    client, headers, _ = hostile_client
    response = client.get("/v1/actors/no%2Fsuch%2Factor", headers=headers)
    assert response.status_code == 404 and "no/such/actor" in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    ["/static/%00", "/static/a%00b.js", "/static/..%2F..%2Fpyproject.toml", "/static/%2e%2e/x"],
)
def test_odd_static_paths_are_404_not_500(settings, path):
    with running_server(create_app(settings)) as base:
        response = httpx.get(base + path)
    assert response.status_code == 404, (path, response.status_code, response.text)
