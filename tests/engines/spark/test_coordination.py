"""Spark coordination evidence against the local engine on edge cases of the window."""

from __future__ import annotations

import polars as pl
import pytest

from ringscope.config import CoordinationConfig
from ringscope.engines.spark.coordination import build_evidence_spark
from ringscope.engines.spark.frames import WorkDir
from ringscope.graph.coordination import build_evidence
from ringscope.graph.hetero import build_hetero_graph

pytestmark = pytest.mark.spark

TOLERANCE = 1e-12


@pytest.mark.parametrize(
    "overrides",
    [
        # one partner per use: bursts become bands in time order
        {"max_partners": 1, "min_edge_weight": 0.0},
        # short windows, no pruning, a single strong layer off
        {
            "layers": {"content": {"window_ms": 60_000}, "device": {"weight": 0.0}},
            "min_edge_weight": 0.0,
            "min_item_weight": 0.0,
        },
    ],
)
def test_ring_evidence_matches_local(spark, ring_events, tmp_path, overrides):
    graph = build_hetero_graph(ring_events)
    cfg = CoordinationConfig.model_validate(overrides)
    local = build_evidence(graph, cfg)
    remote = build_evidence_spark(spark, graph, cfg, WorkDir(tmp_path))
    assert local.edges.height > 0
    assert local.stats == remote.stats
    assert local.co_shares.sort(pl.all()).equals(remote.co_shares.sort(pl.all()))
    assert local.edges.select("src", "dst", "layers").equals(
        remote.edges.select("src", "dst", "layers")
    )
    assert (local.edges["weight"] - remote.edges["weight"]).abs().max() <= TOLERANCE
    exact = ["src", "dst", "layer", "n_items", "first_ts", "last_ts", "items"]
    assert local.evidence.select(exact).equals(remote.evidence.select(exact))
    assert remote.evidence.schema == local.evidence.schema


def test_no_active_layers_gives_empty_evidence(spark, ring_events, tmp_path):
    graph = build_hetero_graph(ring_events)
    off = {name: {"weight": 0.0} for name in CoordinationConfig().layers}
    cfg = CoordinationConfig.model_validate({"layers": off})
    out = build_evidence_spark(spark, graph, cfg, WorkDir(tmp_path))
    assert out.edges.is_empty() and out.evidence.is_empty()
    local = build_evidence(graph, cfg)
    assert out.edges.schema == local.edges.schema
    assert out.evidence.schema == local.evidence.schema
