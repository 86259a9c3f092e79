"""The coordination formulas both engines use, written once.

The local engine (:mod:`ringscope.graph.coordination`) and the Spark engine
(:mod:`ringscope.engines.spark.coordination`) find the windowed co-shares of every layer
with the same per-group kernels (:mod:`ringscope.graph.coordination_kernels`); every
number they derive comes from here: an item's weight (:func:`item_weight`), the slot in
which one actor's repeats collapse (:func:`collapse_step`), the content mass no one
shares (:func:`unshared_content_mass`), and per pair the similarity, the chance model,
repetition, strength and edge pruning (:func:`finish_evidence`, on the driver for both
engines), with the schemas of the tables they exchange. See
:mod:`ringscope.graph.coordination` for the algorithm.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ringscope.config import CoordinationConfig, LayerConfig
from ringscope.graph.hetero import HeteroGraph

__all__ = [
    "EDGE_SCHEMA",
    "EVIDENCE_SCHEMA",
    "LAYER_ITEM_TYPES",
    "MAX_SIGNIFICANCE",
    "OBJECT_LAYERS",
    "PAIR_SCHEMA",
    "chance_significance",
    "collapse_step",
    "finish_evidence",
    "idf",
    "item_weight",
    "unshared_content_mass",
]

#: The per-layer ledger (``CoordinationEvidence.evidence``), whichever engine built it.
EVIDENCE_SCHEMA: dict[str, pl.DataType] = {
    "src": pl.UInt32,
    "dst": pl.UInt32,
    "layer": pl.Utf8,
    "similarity": pl.Float64,
    "contribution": pl.Float64,
    "n_items": pl.UInt32,
    "first_ts": pl.Int64,
    "last_ts": pl.Int64,
    "items": pl.List(pl.Utf8),
    "co_shares": pl.UInt32,
    "median_gap_ms": pl.Float64,
    "max_gap_ms": pl.Int64,
    "expected": pl.Float64,
    "significance": pl.Float64,
}
#: The weighted actor–actor edges (``CoordinationEvidence.edges``).
EDGE_SCHEMA: dict[str, pl.DataType] = {
    "src": pl.UInt32,
    "dst": pl.UInt32,
    "weight": pl.Float64,
    "layers": pl.List(pl.Utf8),
    "strength": pl.Float64,
}
#: Per-pair columns both engines hand to :func:`finish_evidence`: the shared item mass
#: and each side's layer mass (``similarity`` is computed from them there) and each
#: side's activity ``d_src``/``d_dst`` (distinct items, or occasions).
PAIR_SCHEMA: dict[str, pl.DataType] = {
    **{
        k: v
        for k, v in EVIDENCE_SCHEMA.items()
        if k not in ("similarity", "contribution", "expected", "significance")
    },
    "shared": pl.Float64,
    "mass_src": pl.Float64,
    "mass_dst": pl.Float64,
    "d_src": pl.UInt32,
    "d_dst": pl.UInt32,
}
#: Largest significance recorded (-log10 p): beyond it the chance model says nothing more.
MAX_SIGNIFICANCE = 300.0

#: The node type each layer's items come from (for display of evidence items).
LAYER_ITEM_TYPES = {
    "content": "content",
    "domain": "domain",
    "short_link": "domain",
    "victims": "actor",
    "device": "device",
    "ip": "ip",
    "subnet": "subnet",
    "signup_burst": "subnet",
    "identity": "identity",
    "name": "identity",
    "url": "url",
    "post": "object",
    "media": "object",
    "object": "object",
    "hashtag": "object",
    "target": "target",
}
#: Layers of shared objects, split from the ``object`` nodes by their kind prefix.
OBJECT_LAYERS = ("post", "media", "object", "hashtag")


def idf(df: pl.Expr, n_actors: int) -> pl.Expr:
    """``log((N + 1) / (df + 1)) / log(N + 1)`` with ``N = max(n_actors, 2)``, at least 0."""
    log_n1 = float(np.log(max(n_actors, 2) + 1))
    return ((max(n_actors, 2) + 1) / (df + 1)).log().clip(0.0, None) / log_n1


def item_weight(df: pl.Expr, hub_actors: pl.Expr | int, n_actors: int) -> pl.Expr:
    """An item's weight ``w = idf(df) * min(1, hub_actors / df)`` (idf capped at 1), from
    its distinct-actor count ``df``: hub items count for little, however synchronised."""
    damp = pl.min_horizontal(pl.lit(1.0), hub_actors / df)
    return idf(df, n_actors).clip(0.0, 1.0) * damp


def collapse_step(window_ms: int) -> int:
    """The slot width (ms) within which one actor's repeats of an item collapse to the
    earliest: half the layer window (at least 1 ms); 0 for a window of 0 ("any time"),
    where one use per (actor, item) remains."""
    return max(window_ms // 2, 1) if window_ms > 0 else 0


def unshared_content_mass(hg: HeteroGraph, n_actors: int) -> pl.DataFrame:
    """Per actor ``extra``: the content mass of the fingerprint bands no other message
    shares (weight ``idf(1)`` each), which become no item but still dilute similarity."""
    sent = hg.edges[("actor", "sent", "message")].select(
        pl.col("src").alias("actor"), pl.col("dst").alias("idx")
    )
    per_msg = hg.nodes["message"].select("idx", "unique_bands")
    w1 = idf(pl.lit(1.0), n_actors)
    return (
        sent.unique()
        .join(per_msg, on="idx")
        .group_by("actor")
        .agg((pl.col("unique_bands").sum().cast(pl.Float64) * w1).alias("extra"))
    )


def chance_significance(k: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """``-log10 P(X >= k)`` for ``X ~ Poisson(expected)``, capped at MAX_SIGNIFICANCE.

    Where the tail underflows, its leading term ``e^-l l^k / k!`` (a lower bound of the
    tail, within a factor of about two for ``l < k``) stands in.
    """
    from scipy.special import gammainc, gammaln

    k = np.asarray(k, dtype=np.float64)
    lam = np.maximum(np.asarray(expected, dtype=np.float64), 1e-300)
    with np.errstate(divide="ignore"):
        tail = np.where(k > 0, gammainc(np.maximum(k, 1.0), lam), 1.0)
        log_tail = np.where(tail > 1e-300, np.log(tail), -lam + k * np.log(lam) - gammaln(k + 1.0))
    return np.clip(-log_tail / np.log(10.0), 0.0, MAX_SIGNIFICANCE) + 0.0  # no -0.0


def _strength_weight(layer: LayerConfig) -> float:
    """How much a layer's significance counts towards an edge's strength."""
    return layer.weight if layer.strength_weight is None else layer.strength_weight


def finish_evidence(
    pairs: pl.DataFrame, totals: dict[str, tuple[int, int]], cfg: CoordinationConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Repetition, chance test and edge weights: (edges, ledger), for both engines.

    ``pairs`` holds one row per (src, dst, layer) in :data:`PAIR_SCHEMA`. Its
    ``similarity`` is a weighted cosine, the shared item mass over
    ``sqrt(mass_src * mass_dst) + similarity_prior``, in [0, 1] (0 where neither side has
    any mass and the prior is 0); its contribution to the edge weight is the similarity
    times the layer weight. ``totals`` per
    layer ``(C, M)``: its distinct windowed co-shares (pair, item) and its distinct
    (actor, item) uses. Under the chance model each co-share's two ends are drawn in
    proportion to the actors' activity (the configuration model of the actor–item graph,
    the null model of bipartite projections: Neal, Social Networks 2014), so a pair whose
    sides used ``d_src`` and ``d_dst`` distinct items expects
    ``2 C d_src d_dst / M^2`` co-shared items; its ``significance`` is ``-log10`` of the
    Poisson chance of sharing at least ``n_items``. Busy accounts expect many co-shares,
    and popular items raise ``C`` for every pair of the layer, so neither looks
    coordinated; the measure is a probability, so it reads the same on any data set.
    A row counts when the pair shares at least the layer's ``min_participation``
    distinct items and reaches its ``min_significance``. An edge is kept when its summed
    contributions reach ``min_edge_weight`` or its ``strength`` reaches
    ``min_edge_strength``. The strength is the largest significance times the layer's
    strength weight among the rows that show repetition (two items or occasions or more:
    one shared device or one coincidence is evidence, but no measure of coordination): two
    busy accounts that share a sliver of their activity, but far more often than chance,
    stay linked. A topic (a site, a hashtag: see :class:`LayerConfig` ``match``) is what
    an audience shares at the same moments without coordinating, which a model of
    activity and popularity alone does not foresee, so its rows count towards the strength
    only on a pair that also has evidence in a layer that is not a topic: topical
    co-use corroborates shared objects, it never makes a tie beyond chance by itself (the
    coordinated-sharing detectors use the same object, not the same topic, as their unit:
    CooRTweet, CooRnet; Pacheco et al., ICWSM 2021, use a post's whole hashtag sequence,
    not single hashtags, for the same reason). A layer that repeats by
    ``occasions`` (see :class:`LayerConfig`) counts co-share occasions instead of items,
    in ``co_shares``, ``C``, ``M`` and the activities alike.
    """
    layers = cfg.layers
    names = [n for n in layers if n in totals]
    params = pl.DataFrame(
        {
            "layer": names,
            "lweight": [layers[n].weight for n in names],
            "sweight": [_strength_weight(layers[n]) for n in names],
            "min_items": [layers[n].min_participation for n in names],
            "min_sig": [layers[n].min_significance for n in names],
            "occasions": [layers[n].repeat_by == "occasions" for n in names],
            "topic": [layers[n].match == "topic" for n in names],
            "rate": [2.0 * totals[n][0] / max(totals[n][1], 1) ** 2 for n in names],
        },
        schema_overrides={
            "layer": pl.Utf8,
            "occasions": pl.Boolean,
            "topic": pl.Boolean,
            "min_items": pl.UInt32,
            "lweight": pl.Float64,
            "sweight": pl.Float64,
            "rate": pl.Float64,
        },
    )
    scale = (pl.col("mass_src") * pl.col("mass_dst")).sqrt() + cfg.similarity_prior
    similarity = (pl.col("shared") / scale).fill_nan(0.0).clip(0.0, 1.0)  # 0 / 0: none shared
    # the layer's parameters beside each row, without copying the rows (a join would)
    facts = pairs.select("layer").join(params, on="layer", how="left", maintain_order="left")
    ledger = pl.concat([pairs, facts.drop("layer")], how="horizontal").with_columns(
        similarity.alias("similarity"),
        (pl.col("rate") * pl.col("d_src").cast(pl.Float64) * pl.col("d_dst")).alias("expected"),
        pl.when("occasions").then("co_shares").otherwise("n_items").alias("repeats"),
    )
    ledger = ledger.with_columns(
        pl.Series(
            "significance",
            chance_significance(ledger["repeats"].to_numpy(), ledger["expected"].to_numpy()),
            dtype=pl.Float64,
        )
    ).filter(
        (pl.col("repeats") >= pl.col("min_items")) & (pl.col("significance") >= pl.col("min_sig"))
    )
    ledger = ledger.with_columns((pl.col("similarity") * pl.col("lweight")).alias("contribution"))
    measured = (pl.col("repeats") >= 2) & (~pl.col("topic") | (~pl.col("topic")).any())
    edges = (
        ledger.group_by("src", "dst")
        .agg(
            pl.col("contribution").sort().sum().alias("weight"),
            pl.col("layer").sort().alias("layers"),
            (pl.col("significance") * pl.col("sweight"))
            .filter(measured)
            .max()
            .fill_null(0.0)
            .alias("strength"),
        )
        .filter(
            (pl.col("weight") >= cfg.min_edge_weight)
            | (pl.col("strength") >= cfg.min_edge_strength)
        )
        .sort("src", "dst")
    )
    evidence = (
        ledger.join(edges.select("src", "dst"), on=["src", "dst"])
        .select(pl.col(c).cast(t) for c, t in EVIDENCE_SCHEMA.items())
        .sort("src", "dst", "layer")
    )
    return edges.select(pl.col(c).cast(t) for c, t in EDGE_SCHEMA.items()), evidence
