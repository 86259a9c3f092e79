"""Evaluation of a snapshot against ground truth, on hand-made snapshots with known metrics."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console
from sklearn.metrics import roc_auc_score

from ringscope.errors import SnapshotError
from ringscope.evaluation.rings import TARGETS, evaluate_snapshot, passes_targets

RING_A = ["a1", "a2", "a3", "a4"]
RING_B = ["b1", "b2"]
LOOKALIKE = ["l1", "l2", "l3"]
OTHERS = ["x1", "y1"]


def _truth(path: Path) -> Path:
    truth = {
        "seed": 0,
        "config": {},
        "rings": [
            {"ring_id": "ring-001", "kind": "spam_blast", "members": RING_A},
            {"ring_id": "ring-002", "kind": "harassment", "members": RING_B},
        ],
        "lookalikes": [{"group_id": "lookalike-001", "kind": "nat", "members": LOOKALIKE}],
        "n_actors": 11,
        "n_records": 0,
    }
    out = path / "truth.json"
    out.write_text(json.dumps(truth))
    return out


def _snapshot(path: Path, risk: dict[str, float], clusters: list[tuple[str, list[str]]]) -> Path:
    snap = path / "snap"
    snap.mkdir()
    cluster_of = {a: cid for cid, ms in clusters for a in ms}
    pl.DataFrame(
        {
            "actor_id": list(risk),
            "risk_score": list(risk.values()),
            "cluster_id": [cluster_of.get(a) for a in risk],
            "known_bad": [False] * len(risk),
        },
        schema={
            "actor_id": pl.Utf8,
            "risk_score": pl.Float64,
            "cluster_id": pl.Utf8,
            "known_bad": pl.Boolean,
        },
    ).write_parquet(snap / "actors.parquet")
    pl.DataFrame(
        {
            "cluster_id": [cid for cid, _ in clusters],
            "rank": list(range(1, len(clusters) + 1)),
            "score": [1.0 - 0.1 * i for i in range(len(clusters))],
            "size": [len(ms) for _, ms in clusters],
        },
        schema={"cluster_id": pl.Utf8, "rank": pl.Int64, "score": pl.Float64, "size": pl.Int64},
    ).write_parquet(snap / "clusters.parquet")
    pl.DataFrame(
        {
            "cluster_id": [cid for cid, ms in clusters for _ in ms],
            "actor_id": [a for _, ms in clusters for a in ms],
        },
        schema={"cluster_id": pl.Utf8, "actor_id": pl.Utf8},
    ).write_parquet(snap / "members.parquet")
    return snap


def _all_actors() -> list[str]:
    return RING_A + RING_B + LOOKALIKE + OTHERS


def test_perfect_snapshot_meets_every_target(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    ring = set(RING_A + RING_B)
    risk = {a: (0.9 if a in ring else 0.1) for a in _all_actors()}
    snap = _snapshot(tmp_path, risk, [("c1", RING_A), ("c2", RING_B), ("c3", LOOKALIKE)])
    report = evaluate_snapshot(snap, truth)
    assert report.weighted_jaccard == 1.0
    assert report.jaccard_by_kind == {"harassment": 1.0, "spam_blast": 1.0}
    assert report.auroc == 1.0 and report.auprc == 1.0
    assert report.recall == 1.0 and report.false_positives == 0
    # two rings: the ranking metrics look at the top 2, so the look-alike at rank 3 is
    # listed but neither costs precision nor counts as a look-alike in the top
    assert report.k_effective == 2
    assert report.precision_at_k == 1.0 and report.lookalikes_in_top_k == 0
    assert [c.label for c in report.top_clusters][-1] == "lookalike:nat"
    assert passes_targets(report)
    assert {r.best_cluster for r in report.rings} == {"c1", "c2"}
    swapped = tmp_path / "swapped"
    swapped.mkdir()
    snap2 = _snapshot(swapped, risk, [("c3", LOOKALIKE), ("c1", RING_A), ("c2", RING_B)])
    report2 = evaluate_snapshot(snap2, truth)
    assert report2.precision_at_k == 0.5 and report2.lookalikes_in_top_k == 1
    assert report2.weighted_jaccard == 1.0
    assert not passes_targets(report2)


def test_partial_snapshot_matches_hand_computed_metrics(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    risk = {
        "a1": 0.9,
        "a2": 0.8,
        "a3": 0.7,
        "a4": 0.3,
        "b1": 0.6,
        "b2": 0.2,
        "x1": 0.4,
        "l1": 0.5,
        "l2": 0.1,
        "l3": 0.1,
        "y1": 0.0,
    }
    clusters = [
        ("c1", ["a1", "a2", "a3", "x1"]),  # ring A, 3 of 4 -> hit, J(A) = 3/5
        ("c2", ["b1", "l1", "l2", "l3"]),  # 3/4 look-alike -> look-alike, J(B) = 1/5
        ("c3", ["a4", "b2"]),  # all ring -> hit, J(A) = 1/5, J(B) = 1/3
    ]
    report = evaluate_snapshot(_snapshot(tmp_path, risk, clusters), truth, threshold=0.5)
    by_ring = {r.ring_id: r for r in report.rings}
    assert by_ring["ring-001"].jaccard == pytest.approx(0.6)
    assert by_ring["ring-001"].best_cluster == "c1"
    assert by_ring["ring-002"].jaccard == pytest.approx(1 / 3)
    assert by_ring["ring-002"].best_cluster == "c3"
    assert report.weighted_jaccard == pytest.approx((4 * 0.6 + 2 * (1 / 3)) / 6)
    # 26 of the 30 (positive, negative) pairs are ordered correctly
    assert report.auroc == pytest.approx(26 / 30)
    y = [a in RING_A + RING_B for a in risk]
    assert report.auroc == pytest.approx(roc_auc_score(y, list(risk.values())))
    # two rings, so the top 2 counts: c1 is a hit, c2 a look-alike
    assert report.precision_at_k == pytest.approx(1 / 2)
    assert report.lookalikes_in_top_k == 1
    assert [c.label for c in report.top_clusters] == [
        "ring:spam_blast",
        "lookalike:nat",
        "ring:harassment",  # a 1:1 tie between kinds goes to the first name
    ]
    assert report.recall == pytest.approx(4 / 6)
    assert report.recall_by_kind == {"spam_blast": 0.75, "harassment": 0.5}
    assert report.false_positives == 1  # l1 sits exactly on the threshold
    assert report.lookalike_actors_flagged == 1
    top1 = evaluate_snapshot(tmp_path / "snap", truth, k=1)
    assert top1.precision_at_k == 1.0 and top1.lookalikes_in_top_k == 0


def test_snapshot_without_clusters_is_scored_not_crashed(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    risk = {a: 0.0 for a in _all_actors()}
    report = evaluate_snapshot(_snapshot(tmp_path, risk, []), truth)
    assert report.n_clusters == 0
    assert report.weighted_jaccard == 0.0
    assert report.precision_at_k == 0.0 and report.lookalikes_in_top_k == 0
    assert report.auroc == pytest.approx(0.5)
    assert all(r.best_cluster is None for r in report.rings)
    assert not passes_targets(report)
    json.dumps(report.to_dict())
    _render(report)


def test_report_serialises_and_renders(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    risk = {a: 1.0 for a in _all_actors()}  # one score for all: AUROC 0.5, AUPRC = base rate
    report = evaluate_snapshot(_snapshot(tmp_path, risk, [("c1", RING_A)]), truth)
    d = json.loads(json.dumps(report.to_dict()))
    assert set(d["targets"]) == set(TARGETS)
    assert d["passes_targets"] is False
    assert d["rings"][0]["ring_id"] == "ring-001"
    text = _render(report)
    assert "precision@2" in text and "Top 10 clusters" in text and "spam_blast" in text


def test_missing_files_are_clear_errors(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    with pytest.raises(SnapshotError):
        evaluate_snapshot(tmp_path / "nowhere", truth)
    snap = _snapshot(tmp_path, {a: 0.0 for a in _all_actors()}, [])
    with pytest.raises(SnapshotError):
        evaluate_snapshot(snap, tmp_path / "no-truth.json")


def _render(report: object) -> str:
    buf = io.StringIO()
    Console(file=buf, width=120).print(report.render())  # type: ignore[attr-defined]
    return buf.getvalue()
