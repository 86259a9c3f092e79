"""The evidence ledger of each cluster: which layers and shared items bind it, and when.

Items are display tokens: registered domains as they are, every personal identifier
(device, IP, subnet, recipient, content fingerprint) only as its keyed hash.
"""

from __future__ import annotations

import polars as pl

from ringscope.graph.coordination import CoordinationEvidence

__all__ = ["cluster_evidence", "cluster_layers"]


def _internal(memberships: pl.DataFrame, ev: CoordinationEvidence) -> pl.DataFrame:
    m = memberships.select("actor", "cluster_id")
    return (
        ev.evidence.join(m.rename({"actor": "src"}), on="src")
        .join(m.rename({"actor": "dst", "cluster_id": "c2"}), on="dst")
        .filter(pl.col("cluster_id") == pl.col("c2"))
    )


def cluster_layers(memberships: pl.DataFrame, ev: CoordinationEvidence) -> pl.DataFrame:
    """Per cluster, its evidence layers ordered by their total contribution."""
    internal = _internal(memberships, ev)
    per_layer = internal.group_by("cluster_id", "layer").agg(pl.col("contribution").sort().sum())
    return (
        per_layer.sort(["cluster_id", "contribution", "layer"], descending=[False, True, False])
        .group_by("cluster_id", maintain_order=True)
        .agg(pl.col("layer").alias("layers"))
    )


def cluster_evidence(
    memberships: pl.DataFrame, ev: CoordinationEvidence, *, top: int = 10
) -> pl.DataFrame:
    """Top shared items per (cluster, layer): member pairs behind them and their time span."""
    internal = _internal(memberships, ev).explode("items").rename({"items": "item"})
    agg = internal.group_by("cluster_id", "layer", "item").agg(
        pl.len().alias("pairs"),
        pl.concat([pl.col("src"), pl.col("dst")]).n_unique().alias("actors"),
        pl.col("first_ts").min(),
        pl.col("last_ts").max(),
    )
    return (
        agg.sort(["cluster_id", "layer", "pairs", "item"], descending=[False, False, True, False])
        .group_by("cluster_id", "layer", maintain_order=True)
        .head(top)
    )
