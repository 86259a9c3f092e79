"""Community detection on the weighted actor–actor evidence graph.

Methods resolve by name in one place (:data:`METHODS`), so ``--method`` and config files
list the valid choices in their error:

* ``leiden``: Leiden (Traag, Waltman & van Eck, Sci. Rep. 2019) via ``leidenalg`` with the
  constant Potts model (CPM; Traag, Van Dooren & Nesterov, Phys. Rev. E 2011):
  ``resolution`` is the least mean edge weight per member pair a community must keep
  (default 0.04). CPM has no resolution limit, so one setting finds rings of 4 and of 60 in
  a world of 3k or of 50k accounts alike; modularity merges small rings as the graph grows.
* ``leiden-modularity``: Leiden with the RB-configuration (modularity) quality function,
  ``resolution`` the usual gamma (default 1.0), for comparison.
* ``components``: connected components of the pruned evidence graph; no parameters, the
  most conservative grouping and the reference the Spark engine is checked against.

Every method takes an explicit ``seed``. :func:`trim_periphery` then peels members that
hang on a community by a thread (a friend who got the campaign mail, a family member on a
shared device): investigators want the ring's core.

:func:`beyond_chance_rings` groups runs without labels: a connected set of accounts tied
by beyond-chance repeated coordination (edge ``strength`` at or above a bar) is one ring,
kept whole however sparse (a coordination network where each account repeats with a few
partners only is still one network); only a component too big to be one reviewable ring
is split by the configured method.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from ringscope.errors import ConfigError

__all__ = [
    "DEFAULT_RESOLUTION",
    "METHODS",
    "beyond_chance_rings",
    "detect_communities",
    "resolve_method",
    "trim_periphery",
]


def _graph(n: int, edges: pl.DataFrame):
    import igraph as ig

    g = ig.Graph(n=n, edges=edges.select("src", "dst").to_numpy().tolist(), directed=False)
    g.es["weight"] = edges["weight"].to_list()
    return g


def _find_partition(quality: str, n: int, edges: pl.DataFrame, resolution: float, seed: int):
    import leidenalg

    part = leidenalg.find_partition(
        _graph(n, edges),
        getattr(leidenalg, quality),
        weights="weight",
        resolution_parameter=resolution,
        seed=seed,
        n_iterations=2,
    )
    return np.asarray(part.membership, dtype=np.int64)


def _leiden(n: int, edges: pl.DataFrame, *, resolution: float, seed: int) -> np.ndarray:
    return _find_partition("CPMVertexPartition", n, edges, resolution, seed)


def _leiden_modularity(n: int, edges: pl.DataFrame, *, resolution: float, seed: int) -> np.ndarray:
    return _find_partition("RBConfigurationVertexPartition", n, edges, resolution, seed)


def _components(n: int, edges: pl.DataFrame, *, resolution: float, seed: int) -> np.ndarray:
    del resolution, seed  # components take no parameters
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    src, dst = edges["src"].to_numpy(), edges["dst"].to_numpy()
    adj = sp.coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    _, labels = connected_components(adj, directed=False)
    return labels.astype(np.int64)


Method = Callable[..., np.ndarray]
METHODS: dict[str, Method] = {
    "leiden": _leiden,
    "leiden-modularity": _leiden_modularity,
    "components": _components,
}
#: Resolution used when none is configured, per method.
DEFAULT_RESOLUTION = {"leiden": 0.04, "leiden-modularity": 1.0, "components": 0.0}


def resolve_method(name: str) -> Method:
    """The community function registered under ``name``; lists valid names otherwise."""
    try:
        return METHODS[name.lower()]
    except KeyError:
        raise ConfigError(
            f"unknown community method {name!r}; choose one of: {', '.join(sorted(METHODS))}"
        ) from None


def detect_communities(
    n_actors: int,
    edges: pl.DataFrame,
    *,
    method: str = "leiden",
    resolution: float | None = None,
    seed: int = 42,
    min_size: int = 2,
) -> pl.DataFrame:
    """Group actors into communities; returns ``actor`` (index) and ``community`` (int).

    Only communities with at least ``min_size`` members are returned. Community numbers
    are canonical: ordered by their smallest actor index, so equal partitions give equal
    output whatever the algorithm's internal labels.
    """
    fn = resolve_method(method)
    if resolution is None:
        resolution = DEFAULT_RESOLUTION[method.lower()]
    touched = np.unique(np.concatenate([edges["src"].to_numpy(), edges["dst"].to_numpy()]))
    if touched.size == 0:
        return pl.DataFrame(schema={"actor": pl.UInt32, "community": pl.Int64})
    # Work on the sub-graph of actors with evidence: isolated actors are not clusters.
    local = np.full(n_actors, -1, dtype=np.int64)
    local[touched] = np.arange(touched.size)
    sub = edges.with_columns(
        pl.Series("src", local[edges["src"].to_numpy()]),
        pl.Series("dst", local[edges["dst"].to_numpy()]),
    )
    labels = fn(touched.size, sub, resolution=resolution, seed=seed)
    out = pl.DataFrame({"actor": touched.astype(np.uint32), "label": labels})
    sizes = out.group_by("label").agg(pl.len().alias("size"), pl.col("actor").min().alias("first"))
    keep = sizes.filter(pl.col("size") >= min_size).sort("first")
    keep = keep.with_row_index("community").select(pl.col("community").cast(pl.Int64), "label")
    return out.join(keep, on="label").select("actor", "community").sort("actor")


def beyond_chance_rings(
    n_actors: int,
    edges: pl.DataFrame,
    *,
    min_strength: float,
    max_size: int,
    method: str = "leiden",
    resolution: float | None = None,
    seed: int = 42,
    min_size: int = 2,
) -> pl.DataFrame:
    """Connected components of the edges with ``strength >= min_strength``.

    Returns ``actor`` and ``community`` like :func:`detect_communities`. A component of
    more than ``max_size`` actors is split by ``method`` on its strong edges (their
    ``weight``); the parts keep canonical numbers after the whole components.
    """
    strong = edges.filter(pl.col("strength") >= min_strength)
    whole = detect_communities(n_actors, strong, method="components", min_size=min_size)
    sizes = whole.group_by("community").len()
    big = whole.join(sizes.filter(pl.col("len") > max_size), on="community").select("actor")
    kept = whole.join(big, on="actor", how="anti")
    if big.height == 0:
        return kept
    inside = strong.filter(pl.col("src").is_in(big["actor"].implode()))
    parts = detect_communities(
        n_actors, inside, method=method, resolution=resolution, seed=seed, min_size=min_size
    )
    # renumber: whole components first, then the parts of the split ones
    kept = kept.with_columns(pl.col("community").rank("dense").cast(pl.Int64) - 1)
    offset = kept["community"].max() + 1 if kept.height else 0
    parts = parts.with_columns(pl.col("community") + offset)
    return pl.concat([kept, parts]).sort("actor")


def trim_periphery(
    assignment: pl.DataFrame,
    edges: pl.DataFrame,
    *,
    min_degree: int = 2,
    min_strength_ratio: float = 0.25,
    min_size: int = 2,
    applies_from: int = 4,
    rounds: int = 5,
) -> pl.DataFrame:
    """Peel weakly attached members off communities of ``applies_from`` or more actors.

    A member stays when it has at least ``min_degree`` evidence edges inside its
    community and an internal strength (sum of those edge weights) of at least
    ``min_strength_ratio`` times the community's median member strength. Peeling repeats
    until stable (at most ``rounds``); communities left below ``min_size`` are dropped.
    """
    current = assignment.select("actor", "community")
    for _ in range(rounds):
        m = current
        internal = (
            edges.join(m.rename({"actor": "src"}), on="src")
            .join(m.rename({"actor": "dst", "community": "c2"}), on="dst")
            .filter(pl.col("community") == pl.col("c2"))
        )
        ends = pl.concat(
            [
                internal.select(pl.col("src").alias("actor"), "weight"),
                internal.select(pl.col("dst").alias("actor"), "weight"),
            ]
        )
        per_actor = m.join(
            ends.group_by("actor").agg(
                pl.len().alias("deg"), pl.col("weight").sort().sum().alias("s")
            ),
            on="actor",
            how="left",
        ).with_columns(pl.col("deg").fill_null(0), pl.col("s").fill_null(0.0))
        per_actor = per_actor.with_columns(
            pl.len().over("community").alias("size"),
            pl.col("s").median().over("community").alias("median_s"),
        )
        weak = (pl.col("size") >= applies_from) & (
            (pl.col("deg") < min_degree) | (pl.col("s") < min_strength_ratio * pl.col("median_s"))
        )
        keep = per_actor.filter(~weak).select("actor", "community")
        if keep.height == current.height:
            break
        current = keep
    sizes = current.group_by("community").agg(pl.len().alias("n"))
    big = sizes.filter(pl.col("n") >= min_size).select("community")
    return current.join(big, on="community").sort("actor")
