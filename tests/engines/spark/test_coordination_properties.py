"""Property tests: the Spark engine's evidence and communities equal the local engine's on
random small event sets, configurations and graphs (the local engine is itself checked
against a naive reference in ``tests/graph/test_coordination_properties.py``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from ringscope.engines.spark.communities import spark_components
from ringscope.engines.spark.coordination import build_evidence_spark
from ringscope.engines.spark.frames import WorkDir
from ringscope.graph.communities import detect_communities
from ringscope.graph.coordination import EVIDENCE_SCHEMA, build_evidence
from ringscope.graph.hetero import build_hetero_graph
from tests.graph.coordination_strategies import (
    TOLERANCE,
    ZERO_MASS_CONFIG,
    ZERO_MASS_ROWS,
    configs,
    events,
    evidence_frame,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]

FLOATS = [c for c, t in EVIDENCE_SCHEMA.items() if t == pl.Float64]
EXACT = [c for c in EVIDENCE_SCHEMA if c not in FLOATS]
SPARK_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_engines_agree(spark, rows, cfg) -> None:
    note(f"rows={rows!r}")
    note(f"cfg={cfg.model_dump()!r}")
    graph = build_hetero_graph(evidence_frame(rows))
    local = build_evidence(graph, cfg)
    with tempfile.TemporaryDirectory() as work:
        remote = build_evidence_spark(spark, graph, cfg, WorkDir(Path(work)))
    assert remote.stats == local.stats
    assert remote.co_shares.sort(pl.all()).equals(local.co_shares.sort(pl.all()))
    assert remote.edges.select("src", "dst", "layers").equals(
        local.edges.select("src", "dst", "layers")
    )
    for column in ("weight", "strength"):
        diff = (remote.edges[column] - local.edges[column]).abs().max()
        assert (diff or 0.0) <= TOLERANCE * max(1.0, local.edges[column].abs().max() or 0.0)
    assert remote.evidence.schema == local.evidence.schema
    assert remote.evidence.select(EXACT).equals(local.evidence.select(EXACT))
    for column in FLOATS:
        diff = (remote.evidence[column] - local.evidence[column]).abs().max()
        assert (diff or 0.0) <= TOLERANCE * max(1.0, local.evidence[column].abs().max() or 0.0)


@SPARK_SETTINGS
@given(rows=events(), cfg=configs())
@example(rows=ZERO_MASS_ROWS, cfg=ZERO_MASS_CONFIG)
def test_spark_evidence_matches_local(spark, rows, cfg):
    assert_engines_agree(spark, rows, cfg)


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, pl.DataFrame]:
    """A small random actor graph (many components, isolated actors) in the edge schema."""
    n = draw(st.integers(2, 40))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=50))
    pairs = {(min(a, b), max(a, b)) for a, b in pairs if a != b}
    src = np.array([a for a, _ in sorted(pairs)], dtype=np.uint32)
    dst = np.array([b for _, b in sorted(pairs)], dtype=np.uint32)
    edges = pl.DataFrame({"src": src, "dst": dst}, schema={"src": pl.UInt32, "dst": pl.UInt32})
    return n, edges.with_columns(pl.lit(1.0).alias("weight"))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=graphs(), min_size=st.integers(2, 3))
def test_spark_components_match_local(spark, graph, min_size):
    """The one method both engines run: the same partition, label for label (ARI 1)."""
    n, edges = graph
    local = detect_communities(n, edges, method="components", min_size=min_size)
    with tempfile.TemporaryDirectory() as work:
        remote = spark_components(spark, edges, WorkDir(Path(work)), min_size=min_size)
    assert remote.equals(local)
