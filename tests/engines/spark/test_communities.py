"""GraphFrames communities against the local reference, and the driver/cluster switch."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from ringscope.config import RunConfig
from ringscope.engines import resolve_engine
from ringscope.engines.local import LocalEngine
from ringscope.engines.spark.communities import spark_components, spark_label_propagation
from ringscope.engines.spark.frames import WorkDir
from ringscope.graph.communities import detect_communities

pytestmark = pytest.mark.spark


def _random_edges(seed: int, n: int = 60, m: int = 70) -> pl.DataFrame:
    """A sparse random graph: many components of different sizes, some isolated nodes."""
    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = src != dst
    a, b = np.minimum(src, dst)[keep], np.maximum(src, dst)[keep]
    return (
        pl.DataFrame({"src": a.astype(np.uint32), "dst": b.astype(np.uint32)})
        .unique()
        .with_columns(pl.lit(1.0).alias("weight"))
        .sort("src", "dst")
    )


def test_components_equal_the_local_reference(spark, engine_runs, tmp_path):
    edges = engine_runs.evidence.edges
    local = detect_communities(engine_runs.n_actors, edges, method="components")
    remote = spark_components(spark, edges, WorkDir(tmp_path), min_size=2)
    assert local.height > 50
    assert local.equals(remote)


def test_components_on_random_graph(spark, tmp_path):
    edges = _random_edges(seed=1)
    local = detect_communities(60, edges, method="components", min_size=3)
    assert local.equals(spark_components(spark, edges, WorkDir(tmp_path), min_size=3))


def test_label_propagation_is_a_partition_inside_components(spark, engine_runs, tmp_path):
    edges = engine_runs.evidence.edges
    lpa = spark_label_propagation(spark, edges, WorkDir(tmp_path), iterations=5, min_size=2)
    assert not lpa["actor"].is_duplicated().any()
    assert lpa.group_by("community").len()["len"].min() >= 2
    # numbered by smallest member, densely from 0
    firsts = lpa.group_by("community").agg(pl.col("actor").min()).sort("community")
    assert firsts["community"].to_list() == list(range(firsts.height))
    assert firsts["actor"].is_sorted()
    # labels only travel along edges: a community never spans two components
    components = detect_communities(engine_runs.n_actors, edges, method="components")
    joined = lpa.join(components, on="actor", suffix="_cc")
    assert (
        joined.group_by("community").agg(pl.col("community_cc").n_unique())["community_cc"].max()
        == 1
    )


def test_driver_leiden_when_it_fits_and_label_propagation_above(spark, engine_runs):
    cfg = RunConfig().with_overrides({"engine": "spark"})
    edges, n = engine_runs.evidence.edges, engine_runs.n_actors
    on_driver, ran = resolve_engine(cfg).communities(n, edges, cfg.communities)
    local, _ = LocalEngine(cfg).communities(n, edges, cfg.communities)
    assert (ran["method"], ran["where"]) == ("leiden", "driver")
    assert adjusted_rand_score(local["community"], on_driver["community"]) >= 0.95

    small = cfg.with_overrides({"spark.leiden_max_edges": edges.height - 1})
    engine = resolve_engine(small)
    try:
        found, ran = engine.communities(n, edges, small.communities)
    finally:
        engine.close()
    assert ran["method"] == "label_propagation"
    assert ran["fallback_from"] == "leiden"
    assert ran["leiden_max_edges"] == edges.height - 1
    assert found.height > 0
    assert spark.sparkContext._jsc is not None  # the shared session survives close()
