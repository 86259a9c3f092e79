"""The /v1 routes through TestClient on a real snapshot and a real SQLite store."""

from __future__ import annotations

import time

import polars as pl
import pytest

from ringscope.snapshot import read_table
from tests.api.conftest import publish_copy


def _all_clusters(client, headers, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        query = params | ({"cursor": cursor} if cursor else {}) | {"limit": 7}
        page = client.get("/v1/clusters", params=query, headers=headers).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_queue_pages_through_every_cluster_in_rank_order(client, auth, snapshots):
    headers = auth("investigator")
    first = client.get("/v1/clusters", headers=headers).json()
    assert first["snapshot_id"] == snapshots.early.name
    items = _all_clusters(client, headers)
    clusters = read_table(snapshots.early, "clusters")
    assert first["total"] == clusters.height == len(items)
    assert [c["rank"] for c in items] == list(range(1, clusters.height + 1))
    assert [c["cluster_id"] for c in items] == clusters.sort("rank")["cluster_id"].to_list()
    assert all(c["verdict"] is None and c["lineage"]["status"] == "new" for c in items)
    assert {c["kind"] for c in items} <= {"content", "infrastructure", "victims", "identity"}


def test_queue_filters(client, auth, snapshots):
    headers = auth("investigator")
    clusters = read_table(snapshots.early, "clusters")
    strong = _all_clusters(client, headers, min_score=0.3, min_size=4)
    expected = clusters.filter((pl.col("score") >= 0.3) & (pl.col("size") >= 4))
    assert {c["cluster_id"] for c in strong} == set(expected["cluster_id"])

    for kind in ("content", "victims", "identity", "infrastructure"):
        assert all(c["kind"] == kind for c in _all_clusters(client, headers, kind=kind))

    member = read_table(snapshots.early, "members").row(0, named=True)
    found = client.get(
        "/v1/clusters", params={"contains_actor": member["actor_id"]}, headers=headers
    ).json()
    assert [c["cluster_id"] for c in found["items"]] == [member["cluster_id"]]
    nobody = client.get("/v1/clusters", params={"contains_actor": "no-such"}, headers=headers)
    assert nobody.json()["total"] == 0


def test_verdicts_are_recorded_listed_and_filterable(client, auth, snapshots):
    headers = auth("investigator")
    top, second = client.get("/v1/clusters", headers=headers).json()["items"][:2]
    created = client.post(
        f"/v1/clusters/{top['cluster_id']}/verdicts",
        json={"verdict": "needs_more_info", "note": "check the devices"},
        headers=headers,
    )
    assert created.status_code == 201
    body = created.json()
    assert body["investigator"] == "investigator-key"
    assert body["snapshot_id"] == snapshots.early.name
    assert body["created_at"].endswith("Z")
    later = client.post(
        f"/v1/clusters/{top['cluster_id']}/verdicts",
        json={"verdict": "confirmed", "investigator": "dana"},
        headers=headers,
    ).json()

    history = client.get(f"/v1/clusters/{top['cluster_id']}/verdicts", headers=headers).json()
    assert [v["id"] for v in history["items"]] == [later["id"], body["id"]]
    detail = client.get(f"/v1/clusters/{top['cluster_id']}", headers=headers).json()
    assert detail["verdict"]["verdict"] == "confirmed"
    assert detail["verdict"]["investigator"] == "dana"
    assert [v["id"] for v in detail["verdicts"]] == [later["id"], body["id"]]

    confirmed = client.get("/v1/clusters", params={"verdict": "confirmed"}, headers=headers)
    assert [c["cluster_id"] for c in confirmed.json()["items"]] == [top["cluster_id"]]
    unreviewed = _all_clusters(client, headers, verdict="none")
    assert top["cluster_id"] not in {c["cluster_id"] for c in unreviewed}
    assert second["cluster_id"] in {c["cluster_id"] for c in unreviewed}
    dismissed = client.get("/v1/clusters", params={"verdict": "dismissed"}, headers=headers)
    assert dismissed.json()["total"] == 0


def test_cluster_detail_explains_the_score(client, auth, snapshots):
    headers = auth("investigator")
    top = client.get("/v1/clusters", params={"limit": 1}, headers=headers).json()["items"][0]
    detail = client.get(
        f"/v1/clusters/{top['cluster_id']}", params={"members_limit": 3}, headers=headers
    ).json()
    row = read_table(snapshots.early, "clusters").filter(pl.col("cluster_id") == top["cluster_id"])
    for family in ("coordination", "abuse"):
        parts = [s["contribution"] for s in detail["signals"] if s["family"] == family]
        assert sum(parts) == pytest.approx(row[family].item())
    for s in detail["signals"]:
        assert s["contribution"] == pytest.approx(s["value"] * s["weight"])

    members, cursor = [], None
    while True:
        params = {"members_limit": 3} | ({"members_cursor": cursor} if cursor else {})
        page = client.get(f"/v1/clusters/{top['cluster_id']}", params=params, headers=headers)
        members += page.json()["members"]["items"]
        cursor = page.json()["members"]["next_cursor"]
        if cursor is None:
            break
    assert len(members) == top["size"] == len({m["actor_id"] for m in members})
    risks = [m["risk_score"] for m in members]
    assert risks == sorted(risks, reverse=True)

    assert detail["evidence"], "a ranked ring has shared items behind it"
    assert all(e["n_actors"] >= 2 and e["first_ts"] <= e["last_ts"] for e in detail["evidence"])
    assert sum(b["events"] for b in detail["timeline"]) >= top["size"]
    starts = [b["bucket_start"] for b in detail["timeline"]]
    assert starts == sorted(starts) and all(s.endswith("T00:00:00Z") for s in starts)


def test_graph_holds_members_and_their_edges(client, auth, snapshots):
    headers = auth("investigator")
    top = client.get("/v1/clusters", params={"limit": 1}, headers=headers).json()["items"][0]
    graph = client.get(f"/v1/clusters/{top['cluster_id']}/graph", headers=headers).json()
    ids = {n["id"] for n in graph["nodes"]}
    assert len(ids) == top["size"] and not graph["truncated"]
    assert graph["edges"] and all(e["source"] in ids and e["target"] in ids for e in graph["edges"])
    small = client.get(
        f"/v1/clusters/{top['cluster_id']}/graph", params={"max_nodes": 2}, headers=headers
    ).json()
    assert len(small["nodes"]) == 2 and small["truncated"]
    assert {n["id"] for n in small["nodes"]} <= ids


def test_actor_shows_cluster_and_neighbour_evidence(client, auth, snapshots):
    headers = auth("investigator")
    edge = read_table(snapshots.early, "edges").sort("weight", descending=True).row(0, named=True)
    actor = client.get(f"/v1/actors/{edge['src']}", headers=headers).json()
    assert actor["actor_id"] == edge["src"]
    strongest = actor["neighbours"][0]
    assert strongest["actor_id"] == edge["dst"]
    assert strongest["weight"] == pytest.approx(edge["weight"])
    assert {layer["layer"] for layer in strongest["layers"]} == set(edge["layers"])
    row = read_table(snapshots.early, "actors").filter(pl.col("actor_id") == edge["src"])
    assert actor["flagged"] == row["flagged"].item()
    assert actor["flagged_via"] == row["flagged_via"].item()


def test_snapshots_lists_published_ones(client, auth, snapshots):
    listing = client.get("/v1/snapshots", headers=auth("investigator")).json()
    assert listing["current"] == snapshots.early.name
    assert [s["snapshot_id"] for s in listing["items"]] == [snapshots.early.name]
    assert listing["items"][0]["clusters"] == read_table(snapshots.early, "clusters").height


def test_stats_summarise_the_served_snapshot_and_its_history(client, auth, root, snapshots):
    publish_copy(snapshots.full, root)
    deadline = time.monotonic() + 20
    while client.get("/readyz").json()["snapshot_id"] != snapshots.full.name:
        assert time.monotonic() < deadline, "the new snapshot was never served"
        time.sleep(0.1)
    stats = client.get("/v1/stats", headers=auth("investigator")).json()
    clusters = read_table(snapshots.full, "clusters")
    assert stats["snapshot_id"] == snapshots.full.name
    assert stats["scores"]["clusters"] == clusters.height
    assert sum(b["clusters"] for b in stats["scores"]["histogram"]) == clusters.height
    assert stats["scores"]["flagged"] == int(clusters["flagged"].sum())
    statuses = read_table(snapshots.full, "lineage")["status"].value_counts()
    for status, count in statuses.iter_rows():
        assert stats["churn"][status] == count
    layers = read_table(snapshots.full, "evidence").group_by("layer").len()
    assert {e["layer"]: e["pairs"] for e in stats["evidence"]} == dict(layers.iter_rows())

    history = stats["history"]
    assert [h["snapshot_id"] for h in history] == [snapshots.full.name, snapshots.early.name]
    for key in ("run", "scores", "churn", "evidence"):  # read from files == served view
        assert history[0][key] == stats[key], key
    early = read_table(snapshots.early, "clusters")
    assert history[1]["scores"]["clusters"] == early.height
    assert sum(history[1]["churn"].values()) == early.height

    one = client.get("/v1/stats", params={"history": 1}, headers=auth("investigator")).json()
    assert [h["snapshot_id"] for h in one["history"]] == [snapshots.full.name]
    assert (
        client.get("/v1/stats", params={"history": 0}, headers=auth("investigator")).json()[
            "history"
        ]
        == []
    )
    too_many = client.get("/v1/stats", params={"history": 101}, headers=auth("investigator"))
    assert too_many.status_code == 422
    assert client.get("/v1/stats", headers=auth("service")).status_code == 403


def test_health_and_metrics(client, auth, snapshots):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["snapshot_id"] == snapshots.early.name
    client.get("/v1/clusters", headers=auth("investigator"))
    text = client.get("/metrics", headers=auth("service")).text
    assert 'route="/v1/clusters"' in text
    assert f'ringscope_snapshot_info{{snapshot_id="{snapshots.early.name}"}} 1.0' in text
    assert "ringscope_http_request_duration_seconds_bucket" in text


def test_admin_manages_keys_over_http(client, auth):
    created = client.post(
        "/v1/admin/keys", json={"name": "eve", "role": "investigator"}, headers=auth("admin")
    )
    assert created.status_code == 201
    eve = {"X-API-Key": created.json()["key"]}
    assert client.get("/v1/clusters", headers=eve).status_code == 200
    names = [k["name"] for k in client.get("/v1/admin/keys", headers=auth("admin")).json()["items"]]
    assert "eve" in names
    again = client.post(
        "/v1/admin/keys", json={"name": "eve", "role": "service"}, headers=auth("admin")
    )
    assert again.status_code == 409
    assert client.delete("/v1/admin/keys/eve", headers=auth("admin")).status_code == 200
    assert client.get("/v1/clusters", headers=eve).status_code == 401
    assert client.delete("/v1/admin/keys/nobody", headers=auth("admin")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "fragment"),
    [
        ("get", "/v1/clusters", {"params": {"limit": 0}}, 422, "query parameter 'limit'"),
        ("get", "/v1/clusters", {"params": {"min_score": "high"}}, 422, "'min_score'"),
        ("get", "/v1/clusters", {"params": {"kind": "weird"}}, 422, "'kind'"),
        ("get", "/v1/clusters", {"params": {"cursor": "bm9wZQ"}}, 422, "'cursor'"),
        ("get", "/v1/clusters", {"params": {"cursor": "m50"}}, 422, "'cursor'"),
        ("get", "/v1/clusters/cnope", {}, 404, "no cluster 'cnope'"),
        ("get", "/v1/clusters/cnope/graph", {"params": {"max_nodes": 5000}}, 422, "max_nodes"),
        ("get", "/v1/actors/unknown-actor", {}, 404, "no actor"),
        ("post", "/v1/clusters/cnope/verdicts", {"json": {"verdict": "confirmed"}}, 404, "cnope"),
        ("post", "/v1/clusters/{top}/verdicts", {"json": {"verdict": "guilty"}}, 422, "verdict"),
        (
            "post",
            "/v1/clusters/{top}/verdicts",
            {"json": {"verdict": "confirmed", "note": "x" * 2001}},
            422,
            "note",
        ),
        (
            "post",
            "/v1/clusters/{top}/verdicts",
            {"json": {"verdict": "confirmed", "extra": 1}},
            422,
            "extra",
        ),
        (
            "post",
            "/v1/clusters/{top}/verdicts",
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            422,
            "JSON",
        ),
    ],
)
def test_bad_input_gets_a_clear_4xx(client, auth, method, path, kwargs, status, fragment):
    headers = auth("investigator") | kwargs.pop("headers", {})
    top = client.get("/v1/clusters", params={"limit": 1}, headers=headers).json()["items"][0]
    response = client.request(
        method.upper(), path.format(top=top["cluster_id"]), headers=headers, **kwargs
    )
    assert response.status_code == status
    detail = response.json()["detail"]
    assert isinstance(detail, str) and fragment in detail
    assert "Traceback" not in response.text
