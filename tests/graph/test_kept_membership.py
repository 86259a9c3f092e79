"""Leiden started from a stream's previous membership agrees with a cold start.

A warm start is a local optimum of the same quality function reached from another
start, so it need not equal the cold start's partition; over a stream's batches of a
generated world it must agree with it as the stream must agree with a batch run
(ARI >= 0.95), and on an unchanged graph the cold start's own partition must be kept.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from ringscope.config import RunConfig
from ringscope.graph.communities import detect_communities
from ringscope.graph.coordination import build_evidence
from ringscope.graph.hetero import build_hetero_graph
from ringscope.graph.kept_membership import KeptMembership
from ringscope.ingest import ingest
from ringscope.privacy import Keyring
from ringscope.worlds import WorldConfig, generate_world, write_world

KEYRING = Keyring(b"kept-membership-test-secret-0123")


@pytest.fixture(scope="module")
def world_events(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    base: Path = tmp_path_factory.mktemp("kept-membership")
    paths = write_world(generate_world(WorldConfig(n_legit=300), seed=11), base / "world")
    events = ingest([p for p in paths if p.name.startswith("events")], keyring=KEYRING).events
    return events.sort("ts", "actor_id", maintain_order=True)


def _ari(a: pl.DataFrame, b: pl.DataFrame) -> float:
    """Agreement of two clusterings over the actors of either (the rest: singletons)."""
    both = a.join(b, on="actor", how="full", coalesce=True, suffix="_b")
    alone = pl.col("actor").cast(pl.Int64).neg() - 1
    return adjusted_rand_score(
        both.select(pl.col("community").fill_null(alone)).to_series(),
        both.select(pl.col("community_b").fill_null(alone)).to_series(),
    )


def test_warm_started_leiden_agrees_with_a_cold_start_batch_after_batch(world_events) -> None:
    kept = KeptMembership()
    cfg = RunConfig()
    for k in range(1, 6):
        hg = build_hetero_graph(world_events.head(world_events.height * k // 5))
        edges = build_evidence(hg, cfg.coordination).edges
        n = hg.num_nodes("actor")
        start = kept.initial(hg)
        assert (start is None) == (k == 1)
        cold = detect_communities(n, edges, resolution=cfg.communities.resolution)
        warm = detect_communities(n, edges, resolution=cfg.communities.resolution, initial=start)
        kept.remember(hg, warm)
        assert _ari(warm, cold) >= 0.95


def test_a_cold_partition_is_kept_on_an_unchanged_graph(world_events) -> None:
    hg = build_hetero_graph(world_events)
    edges = build_evidence(hg, RunConfig().coordination).edges
    n = hg.num_nodes("actor")
    cold = detect_communities(n, edges)
    kept = KeptMembership()
    kept.remember(hg, cold)
    again = detect_communities(n, edges, initial=kept.initial(hg))
    assert again.equals(cold)
