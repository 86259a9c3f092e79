"""Community detection: partitions, determinism, and components against networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import polars as pl
import pytest

from ringscope.errors import ConfigError
from ringscope.graph.communities import (
    METHODS,
    beyond_chance_rings,
    detect_communities,
    resolve_method,
)


def _edges(pairs: list[tuple[int, int]], weight: float = 1.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "src": [a for a, _ in pairs],
            "dst": [b for _, b in pairs],
            "weight": [weight] * len(pairs),
        },
        schema={"src": pl.UInt32, "dst": pl.UInt32, "weight": pl.Float64},
    )


def _two_cliques() -> pl.DataFrame:
    a = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    b = [(i, j) for i in range(10, 16) for j in range(i + 1, 16)]
    return _edges([*a, *b, (5, 10)])


@pytest.mark.parametrize("method", sorted(METHODS))
def test_result_is_a_partition_of_touched_actors(method):
    out = detect_communities(20, _two_cliques(), method=method)
    assert out["actor"].is_unique().all()
    assert set(out["actor"].to_list()) == set(range(6)) | set(range(10, 16))
    assert out["community"].min() == 0


def test_leiden_splits_two_cliques_joined_by_one_edge():
    out = detect_communities(20, _two_cliques(), method="leiden", seed=1)
    groups = out.group_by("community").agg(pl.col("actor").sort()).sort("community")
    assert [set(g) for g in groups["actor"].to_list()] == [set(range(6)), set(range(10, 16))]


def test_leiden_is_deterministic_for_a_seed():
    rng = np.random.default_rng(0)
    pairs = sorted({tuple(sorted(p)) for p in rng.integers(0, 200, size=(600, 2)) if p[0] != p[1]})
    edges = _edges([(int(a), int(b)) for a, b in pairs])
    first = detect_communities(200, edges, method="leiden", seed=3)
    assert first.equals(detect_communities(200, edges, method="leiden", seed=3))


@pytest.mark.parametrize("seed", range(5))
def test_components_match_networkx_on_random_graphs(seed):
    rng = np.random.default_rng(seed)
    n = 150
    pairs = [(int(a), int(b)) for a, b in rng.integers(0, n, size=(120, 2)) if a != b]
    out = detect_communities(n, _edges(pairs), method="components")
    ours = {frozenset(g) for g in out.group_by("community").agg("actor")["actor"].to_list()}
    ref = {frozenset(c) for c in nx.connected_components(nx.Graph(pairs)) if len(c) >= 2}
    assert ours == ref


def test_min_size_and_empty_graph():
    assert detect_communities(5, _edges([])).height == 0
    out = detect_communities(20, _two_cliques(), method="components", min_size=13)
    assert out.height == 0


def test_unknown_method_lists_choices():
    with pytest.raises(ConfigError, match="components, leiden, leiden-modularity"):
        resolve_method("louvian")


def test_trim_periphery_peels_a_member_hanging_by_one_edge():
    from ringscope.graph.communities import trim_periphery

    ring = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    edges = _edges([*ring, (0, 9)])  # actor 9 is attached to the ring by one edge
    assignment = pl.DataFrame(
        {"actor": [0, 1, 2, 3, 4, 5, 9], "community": [0] * 7},
        schema={"actor": pl.UInt32, "community": pl.Int64},
    )
    out = trim_periphery(assignment, edges)
    assert sorted(out["actor"].to_list()) == [0, 1, 2, 3, 4, 5]


def test_trim_periphery_keeps_small_and_cohesive_groups():
    from ringscope.graph.communities import trim_periphery

    pair = _edges([(0, 1), (2, 3), (3, 4), (2, 4)])
    assignment = pl.DataFrame(
        {"actor": [0, 1, 2, 3, 4], "community": [0, 0, 1, 1, 1]},
        schema={"actor": pl.UInt32, "community": pl.Int64},
    )
    assert trim_periphery(assignment, pair).equals(assignment.sort("actor"))


def _strong(pairs: list[tuple[int, int]], strength: float) -> pl.DataFrame:
    return _edges(pairs).with_columns(pl.lit(strength).alias("strength"))


def test_beyond_chance_rings_keep_a_sparse_network_whole_and_ignore_weak_ties():
    chain = [(i, i + 1) for i in range(9)]  # 10 accounts, each tied to one or two others
    edges = pl.concat([_strong(chain, 5.0), _strong([(9, 10), (20, 21)], 1.0)])
    rings = beyond_chance_rings(30, edges, min_strength=3.0, max_size=50)
    assert rings["actor"].to_list() == list(range(10))
    assert rings["community"].n_unique() == 1


def test_beyond_chance_rings_split_a_component_above_the_size_bound():
    cliques = _two_cliques().with_columns(pl.lit(9.0).alias("strength"))
    whole = beyond_chance_rings(20, cliques, min_strength=3.0, max_size=50)
    split = beyond_chance_rings(20, cliques, min_strength=3.0, max_size=5)
    assert whole["community"].n_unique() == 1
    assert split["community"].n_unique() == 2 and split.height == whole.height
