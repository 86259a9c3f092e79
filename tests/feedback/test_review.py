"""Where verdicts put clusters: dismissed before, reopened with a reason, carried, lane."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import polars as pl

from ringscope.config import FeedbackConfig
from ringscope.feedback.features import RANKER_FEATURES
from ringscope.feedback.labels import Example, cluster_labels
from ringscope.feedback.review import review_states, teach_lane
from ringscope.store import VerdictRecord

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def vector(size: int, **values: float) -> dict[str, float]:
    return dict.fromkeys(RANKER_FEATURES, 0.0) | {"log_size": math.log1p(size)} | values


def features(rows: dict[str, dict[str, float]]) -> pl.DataFrame:
    return pl.DataFrame([{"cluster_id": c} | v for c, v in rows.items()])


def dismissed(cluster: str, then: dict[str, float], i: int = 1) -> VerdictRecord:
    return VerdictRecord(i, cluster, "dismissed", None, "ann", "s1", T0, then, ())


def test_dismissed_clusters_stay_below_until_their_evidence_changes():
    then = vector(10, fanout=0.2, member_risk=0.0, layer_content=1.0)
    now = {
        # model outputs moving (they retrain on the verdicts) are no new evidence
        "same": then | {"member_risk": 0.4, "content_abuse": 0.3},
        "grew": vector(14, fanout=0.2, layer_content=1.0),
        "hotter": then | {"fanout": 0.4},
        "wider": then | {"layer_device": 1.0},
        "child": then,  # split off "same" with a fresh id
        "fresh": then,
    }
    labels = cluster_labels(
        [dismissed(c, then, i) for i, c in enumerate(now) if c not in ("child", "fresh")]
    )
    lineage = pl.DataFrame(
        {"cluster_id": list(now), "previous_ids": [[], [], [], [], ["same"], []]},
        schema={"cluster_id": pl.Utf8, "previous_ids": pl.List(pl.Utf8)},
    )
    states = review_states(features(now), lineage, labels, FeedbackConfig())
    got = {r["cluster_id"]: r for r in states.iter_rows(named=True)}
    assert got["same"]["review_state"] == "dismissed_before"
    assert "unchanged since" in got["same"]["review_reason"]
    assert got["grew"]["review_state"] == "reopened"
    assert "grew from 10 to 14 accounts" in got["grew"]["review_reason"]
    assert "fanout rose from 0.20 to 0.40" in got["hotter"]["review_reason"]
    assert "new evidence: device" in got["wider"]["review_reason"]
    assert (got["child"]["review_state"], got["child"]["carried_from"]) == (
        "dismissed_before",
        "same",
    )
    assert got["fresh"]["review_state"] == "open"


def test_lane_marks_open_clusters_at_the_boundary_or_unlike_anything_judged():
    rows = {f"c{i}": vector(5, fanout=i / 10) for i in range(10)}
    rows["odd"] = vector(500, fanout=0.0, synchrony=1.0, layer_victims=1.0)
    frame = features(rows)
    judged = [Example(f"c{i}", "s", i % 2, rows[f"c{i}"], T0) for i in range(10)]
    states = pl.DataFrame(
        {"cluster_id": list(rows), "review_state": ["open"] * 9 + ["confirmed", "open"]}
    )
    learned = np.array([0.05] * 9 + [0.5, 0.5])
    lane = teach_lane(frame, states, judged, learned, FeedbackConfig(teach_lane=2), 0.5)
    marked = dict(lane.select("cluster_id", "teach_reason").iter_rows())
    assert marked["c9"] is None, "a labelled cluster is not in the lane"
    assert "unlike any judged cluster" in marked["odd"] or "boundary" in marked["odd"]
    assert sum(v is not None for v in marked.values()) == 2
