"""Cluster signals and scores: bounded, explained, ranked densely, rings above friends."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from ringscope.config import CoordinationConfig, ScoreConfig
from ringscope.graph.communities import detect_communities
from ringscope.graph.coordination import (
    EDGE_SCHEMA,
    EVIDENCE_SCHEMA,
    CoordinationEvidence,
    build_evidence,
)
from ringscope.graph.hetero import build_hetero_graph
from ringscope.ranking.features import actor_features, with_freshness
from ringscope.ranking.scoring import actor_risk, cluster_id_for, score_clusters
from ringscope.ranking.signals import (
    SIGNAL_FAMILIES,
    SIGNALS,
    cluster_signals,
    fisher_significance,
)


def _signals(ring_events) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cluster signals of the ring fixture (components) and the members with cluster ids."""
    hg = build_hetero_graph(ring_events)
    ev = build_evidence(hg, CoordinationConfig(min_edge_weight=0.0))
    comm = detect_communities(hg.num_nodes("actor"), ev.edges, method="components")
    feats = with_freshness(actor_features(ring_events, hg), fresh_days=14)
    members = comm.join(feats.select("actor", "actor_id"), on="actor")
    ids = members.group_by("community").agg(
        pl.col("actor_id")
        .map_batches(lambda s: pl.Series([cluster_id_for(s.to_list())]), returns_scalar=True)
        .alias("cluster_id")
    )
    sig = cluster_signals(
        members.join(ids, on="community"), feats, hg, ev, burst_window_ms=86_400_000
    ).join(ids, on="community")
    sig = sig.with_columns(pl.lit(["content"]).alias("layers"))
    return sig, members.join(ids, on="community")


@pytest.fixture
def scored(ring_events):
    sig, members = _signals(ring_events)
    return score_clusters(sig, ScoreConfig()), members


def test_without_labels_the_chance_family_ranks_and_ties_break_by_strength(ring_events):
    sig, members = _signals(ring_events)
    cfg = ScoreConfig()
    clusters = score_clusters(sig, cfg, labelled=False)
    assert set(clusters["ranking"]) == {"label_free"}
    assert (clusters["score"] - clusters["significance"]).abs().max() < 1e-12
    assert clusters["flagged"].to_list() == (clusters["strength"] >= cfg.flag_strength).to_list()
    ring = clusters.row(0, named=True)
    assert set(members.filter(pl.col("cluster_id") == ring["cluster_id"])["actor_id"]) == {
        f"r{i}" for i in range(5)
    }
    # eleven accounts are too few for anything to be far beyond chance, but the ring's
    # repeated co-sharing is the least likely by chance of all
    assert ring["strength"] == clusters["strength"].max() > 0
    # equal scores: the stronger cluster first, whatever the sizes
    tied = pl.concat([sig.head(1)] * 2).with_columns(
        pl.Series("cluster_id", ["small", "big"]),
        pl.Series("size", [2, 50], dtype=sig["size"].dtype),
        pl.Series("strength", [9.0, 4.0]),
        pl.Series("significance", [0.5, 0.5]),
    )
    order = score_clusters(tied, cfg, labelled=False)["cluster_id"].to_list()
    assert order == ["small", "big"]


def test_signals_and_score_are_bounded_and_sum_up(scored):
    clusters, _ = scored
    for s in (*SIGNALS, "score"):
        assert clusters[s].is_between(0.0, 1.0).all(), s
    for family, members in SIGNAL_FAMILIES.items():
        parts = clusters.select(pl.sum_horizontal([f"contrib_{s}" for s in members]))
        assert (parts.to_series() - clusters[family]).abs().max() < 1e-9
    a = ScoreConfig().abuse_exponent
    recomputed = (
        clusters["abuse"] ** a * clusters["coordination"] ** (1 - a) * clusters["size_confidence"]
    )
    assert (recomputed.clip(0, 1) - clusters["score"]).abs().max() < 1e-9


def test_ranks_are_dense_and_follow_score(scored):
    clusters, _ = scored
    assert clusters["rank"].to_list() == list(range(1, clusters.height + 1))
    assert clusters["score"].is_sorted(descending=True)


def test_ring_cluster_ranks_first_with_a_readable_summary(scored):
    clusters, members = scored
    top = clusters.row(0, named=True)
    top_members = set(members.filter(pl.col("cluster_id") == top["cluster_id"])["actor_id"])
    assert top_members == {f"r{i}" for i in range(5)}
    assert top["summary"].startswith("5 accounts")
    assert top["fanout"] == 1.0  # every recipient is a one-shot stranger


def test_cluster_id_is_order_independent():
    assert cluster_id_for(["b", "a"]) == cluster_id_for(["a", "b"]) != cluster_id_for(["a"])


def test_partial_weights_merge_and_unknown_signals_are_rejected():
    cfg = ScoreConfig(weights={"labels": 1.0})
    assert cfg.weights["fanout"] == ScoreConfig().weights["fanout"]
    with pytest.raises(ValueError, match="unknown signals"):
        ScoreConfig(weights={"vibes": 1.0})


def test_fisher_significance_combines_independent_ties():
    from scipy.stats import combine_pvalues

    total, ties = np.array([4.3, 12.9, 9.0, 600.0]), np.array([1, 3, 2, 2])
    got = fisher_significance(total, ties)
    assert got[0] == pytest.approx(4.3)  # one tie is its own evidence
    for s, k, g in zip(total[1:3], ties[1:3], got[1:3], strict=True):
        p = combine_pvalues([10 ** (-s / k)] * k, method="fisher").pvalue
        assert g == pytest.approx(-np.log10(p), rel=1e-9)
    assert got[1] > 4.3 * 2
    # far out, where the tail underflows: two ties have Q(2, x) = e^-x (1 + x) exactly
    x = 600 * np.log(10)
    assert got[3] == pytest.approx(600 - np.log10(1 + x), abs=1e-3)  # leading term


def test_a_member_tied_beyond_chance_to_several_partners_counts_each_tie(ring_events):
    hg = build_hetero_graph(ring_events)
    feats = with_freshness(actor_features(ring_events, hg), fresh_days=14)
    idx = dict(zip(feats["actor_id"], feats["actor"], strict=True))
    r, legit = [idx[f"r{i}"] for i in range(5)], [a for k, a in idx.items() if k[0] != "r"]
    # a star of four (three ties at 4.3, p = 10^-4.3 each), a pair tied at 5.0, and a
    # pair whose tie is not beyond chance (2.0)
    ties = [(r[0], r[1], 4.3), (r[0], r[2], 4.3), (r[0], r[3], 4.3)]
    ties += [(legit[0], legit[1], 5.0), (legit[2], legit[3], 2.0)]
    edges = pl.DataFrame(
        [(min(a, b), max(a, b), 1.0, ["url"], s) for a, b, s in ties],
        schema=EDGE_SCHEMA,
        orient="row",
    )
    ev = CoordinationEvidence(edges=edges, evidence=pl.DataFrame(schema=EVIDENCE_SCHEMA), stats={})
    groups = [r[:4], legit[:2], legit[2:4]]
    members = pl.DataFrame(
        [(a, c) for c, g in enumerate(groups) for a in g],
        schema={"actor": pl.UInt32, "community": pl.Int64},
        orient="row",
    )
    sig = cluster_signals(members, feats, hg, ev, burst_window_ms=86_400_000).sort("community")
    hub = fisher_significance(np.array([12.9]), np.array([3]))[0]
    assert sig["strength"].to_list() == pytest.approx([(hub + 3 * 4.3) / 4, 5.0, 2.0])
    assert sig["strength"][0] > sig["strength"][1]  # three independent ties beat one


def test_without_labels_coordination_lifts_risk_only_as_far_as_content_shows_abuse(ring_events):
    """A significant cluster of ordinary messages (a mailing list) is not abuse by itself."""
    sig, members = _signals(ring_events)
    clusters = score_clusters(sig, ScoreConfig(), labelled=False)
    hg = build_hetero_graph(ring_events)
    feats = with_freshness(actor_features(ring_events, hg), fresh_days=14)
    ring = members.filter(pl.col("actor_id").str.starts_with("r"))["actor"]
    none = pl.DataFrame(
        {"actor": [], "max_weight": []},
        schema={"actor": feats["actor"].dtype, "max_weight": pl.Float64},
    )

    def risk(content_abuse: float, content: float, gate: bool) -> pl.DataFrame:
        memberships = members.join(
            clusters.select("cluster_id", "score").with_columns(
                pl.lit(content_abuse).alias("content_abuse")
            ),
            on="cluster_id",
        )
        floor = feats.select("actor", pl.lit(content).alias("content_risk"))
        out = actor_risk(feats, memberships, none, content_risk=floor, content_gate=gate)
        return out.filter(pl.col("actor").is_in(ring.implode()))["risk_score"]

    ungated = risk(0.1, 0.1, gate=False)
    assert ungated.min() > 0.1  # the ring's significance lifts it above its content
    assert (risk(0.1, 0.1, gate=True) - ungated).max() < 0  # ordinary content: less lift
    assert risk(0.0, 0.1, gate=True).to_list() == pytest.approx([0.1] * ring.len())
    # an anomalous campaign keeps the lift of its coordination
    assert risk(1.0, 0.1, gate=True).min() > 0.1
    with pytest.raises(ValueError, match="content_gate needs content_risk"):
        actor_risk(feats, members.with_columns(pl.lit(0.0).alias("score")), none, content_gate=True)
