"""Verdicts through the real API teach the next run in the same root (real SQLite store).

Also the documented answers to bad input: an unknown cluster id (404), a verdict naming
a snapshot that no longer exists (409), two investigators who disagree (recorded, the
cluster is disputed and teaches nothing).
"""

from __future__ import annotations

import json
import math

import polars as pl

from ringscope.config import RunConfig
from ringscope.feedback.features import FEATURES_TABLE, RANKER_FEATURES
from ringscope.pipeline import run_pipeline
from ringscope.privacy import load_keyring
from ringscope.snapshot import read_table
from tests.api.test_lineage_verdicts import wait_for_snapshot

CONFIG = RunConfig().with_overrides(
    {"feedback.min_confirmed": 2, "feedback.min_dismissed": 2, "feedback.teach_lane": 5}
)


def test_bad_input_has_clear_answers(client, auth, snapshots):
    headers = auth("investigator")
    missing = client.post(
        "/v1/clusters/cnope/verdicts", json={"verdict": "confirmed"}, headers=headers
    )
    assert missing.status_code == 404
    assert snapshots.early.name in missing.json()["detail"]

    cid = client.get("/v1/clusters?limit=1", headers=headers).json()["items"][0]["cluster_id"]
    gone = client.post(
        f"/v1/clusters/{cid}/verdicts",
        json={"verdict": "confirmed", "snapshot_id": "20200101T000000000000Z"},
        headers=headers,
    )
    assert gone.status_code == 409
    assert "no longer exists" in gone.json()["detail"]
    sneaky = client.post(
        f"/v1/clusters/{cid}/verdicts",
        json={"verdict": "confirmed", "snapshot_id": "../x"},
        headers=headers,
    )
    assert sneaky.status_code == 422

    ann = client.post(
        f"/v1/clusters/{cid}/verdicts",
        json={"verdict": "confirmed", "investigator": "ann", "snapshot_id": snapshots.early.name},
        headers=headers,
    )
    assert ann.status_code == 201 and ann.json()["label"] == "confirmed"
    bob = client.post(
        f"/v1/clusters/{cid}/verdicts",
        json={"verdict": "dismissed", "investigator": "bob"},
        headers=headers,
    )
    assert bob.status_code == 201
    assert bob.json()["label"] == "disputed" and bob.json()["disputed_with"] == ["ann"]
    history = client.get(f"/v1/clusters/{cid}/verdicts", headers=headers).json()["items"]
    assert [v["investigator"] for v in history] == ["bob", "ann"], "nothing is lost"


def test_verdicts_teach_the_next_run_in_the_same_root(client, auth, settings, root, snapshots):
    headers = auth("investigator")
    queue = client.get("/v1/clusters?limit=8", headers=headers).json()["items"]
    assert len(queue) == 8
    confirmed = [c["cluster_id"] for c in queue[:3]]
    dismissed = [c["cluster_id"] for c in queue[3:8]]
    for cid, verdict in [(c, "confirmed") for c in confirmed] + [
        (c, "dismissed") for c in dismissed
    ]:
        r = client.post(f"/v1/clusters/{cid}/verdicts", json={"verdict": verdict}, headers=headers)
        assert r.status_code == 201

    snap = run_pipeline(
        [snapshots.events],
        root,
        config=CONFIG,
        keyring=load_keyring(allow_demo=True),
        database_url=settings.database_url,
    )
    manifest = json.loads((snap / "manifest.json").read_text())
    assert manifest["steps"]["verdicts"]["confirmed"] == 3
    assert manifest["steps"]["verdicts"]["dismissed"] == 5
    feedback = manifest["steps"]["feedback"]
    assert feedback["ranker"] == "used" and feedback["examples"] == 8
    risk = manifest["steps"]["ranking"]["risk_model"]
    # the risk model learns from confirmed members (positives) and dismissed ones (negatives)
    assert risk["used"] == "learned"
    assert risk["verdict_positives"] > 0 and risk["verdict_negatives"] > 0

    features = read_table(snap, FEATURES_TABLE)
    assert features.columns == ["cluster_id", *RANKER_FEATURES]
    clusters = read_table(snap, "clusters")
    assert features.height == clusters.height
    states = dict(clusters.select("cluster_id", "review_state").iter_rows())
    for cid in dismissed:
        assert states.get(cid, "dismissed_before") in ("dismissed_before", "reopened")
    below = clusters.filter(pl.col("review_state") == "dismissed_before")["rank"]
    above = clusters.filter(pl.col("review_state") != "dismissed_before")["rank"]
    if below.len() and above.len():
        assert below.min() > above.max(), "dismissed-before clusters come after the open queue"

    wait_for_snapshot(client, headers, snap.name)
    page = client.get("/v1/clusters?limit=200", headers=headers).json()
    row = page["items"][0]
    detail = client.get(f"/v1/clusters/{row['cluster_id']}", headers=headers).json()
    learned = detail["learned"]
    assert learned is not None and learned["contributions"]
    assert "nearest_judged" in {c["feature"] for c in learned["contributions"]}
    prior = min(max(learned["prior_score"], 0.01), 0.99)
    total = learned["bias"] + sum(c["contribution"] for c in learned["contributions"])
    p = learned["learned_score"]
    assert math.isclose(total + math.log(prior / (1 - prior)), math.log(p / (1 - p)), abs_tol=1e-6)
    assert math.isclose(
        detail["score"],
        (1 - learned["weight"]) * learned["prior_score"] + learned["weight"] * p,
        abs_tol=1e-9,
    )

    teach = client.get("/v1/clusters?lane=teach&limit=200", headers=headers).json()
    assert 0 < teach["total"] <= 5
    assert all(
        c["teach_reason"] and c["review_state"] in ("open", "reopened") for c in teach["items"]
    )
    lane = client.get("/v1/clusters?lane=dismissed_before", headers=headers).json()
    assert lane["total"] == feedback["review_states"]["dismissed_before"] >= 1
    assert all(c["review_state"] == "dismissed_before" for c in lane["items"])
    assert all("dismissed by" in c["review_reason"] for c in lane["items"])
    open_ = client.get("/v1/clusters?lane=open&limit=200", headers=headers).json()
    assert open_["total"] + lane["total"] == page["total"]


def test_a_run_without_a_store_ranks_by_the_prior_score(tmp_path, snapshots):
    snap = run_pipeline(
        [snapshots.events],
        tmp_path / "fresh",
        config=RunConfig(),
        keyring=load_keyring(allow_demo=True),
    )
    assert not (tmp_path / "fresh" / "ringscope.sqlite3").exists(), "a run never creates a store"
    clusters = read_table(snap, "clusters")
    assert clusters["score"].to_list() == clusters["prior_score"].to_list()
    assert clusters["rank"].to_list() == list(range(1, clusters.height + 1))
    assert set(clusters["review_state"]) == {"open"}
