"""Accounts that only receive: the targets a coordinated cluster acts on together.

A rating ring boosts one seller, a brigade reports one account, a review farm rates one
product: the target never acts itself, yet investigators need it in ``actors.parquet``.
A target is listed when at least two members of one cluster with co-targeting evidence
(the ``target`` layer) acted on it; its risk is the highest score among those clusters
(a target of a strong ring is at least as suspect, as beneficiary or victim, as the ring
is a ring), its ``targeted_by`` the cluster with that score. Targets that act themselves
are ordinary actors and are not repeated here.
"""

from __future__ import annotations

import polars as pl

from ringscope.graph.coordination import CoordinationEvidence
from ringscope.graph.hetero import HeteroGraph

__all__ = ["receive_only_actors"]

_LAYER = "target"


def receive_only_actors(
    hg: HeteroGraph,
    members: pl.DataFrame,
    scores: pl.DataFrame,
    evidence: CoordinationEvidence,
    acting: pl.Series,
) -> pl.DataFrame:
    """``actor_id``, ``risk_score``, ``targeted_by`` of targets that only receive.

    ``members`` maps ``actor`` to ``cluster_id``; ``scores`` holds ``cluster_id`` and
    ``score``; ``acting`` the ids of actors that act (they are not listed again).
    """
    m = members.select("actor", "cluster_id")
    internal = (
        evidence.evidence.filter(pl.col("layer") == _LAYER)
        .join(m.rename({"actor": "src"}), on="src")
        .join(m.rename({"actor": "dst", "cluster_id": "c2"}), on="dst")
        .filter(pl.col("cluster_id") == pl.col("c2"))
        .select("cluster_id")
        .unique()
    )
    targeted = (
        hg.edges[("actor", "targeted", "target")]
        .select(pl.col("src").alias("actor"), pl.col("dst").alias("idx"))
        .unique()
        .join(m, on="actor")
        .join(internal, on="cluster_id")
        .group_by("cluster_id", "idx")
        .agg(pl.len().alias("members"))
        .filter(pl.col("members") >= 2)
        .join(hg.nodes["target"].select("idx", pl.col("key").alias("actor_id")), on="idx")
        .filter(~pl.col("actor_id").is_in(acting.implode()))
        .join(scores.select("cluster_id", "score"), on="cluster_id")
    )
    return (
        targeted.sort(["score", "cluster_id"], descending=[True, False])
        .group_by("actor_id", maintain_order=True)
        .agg(
            pl.col("score").first().cast(pl.Float64).alias("risk_score"),
            pl.col("cluster_id").first().alias("targeted_by"),
        )
        .sort("actor_id")
    )
