"""Which accounts a run flags: the members of flagged rings and their associates.

A ring is flagged when its coordination is beyond chance (``ScoreConfig.flag_strength``).
Its members were tied by repeated co-sharing with one partner (a coordination edge). An
account that repeats across partners instead, sharing one object with ring member A and
another with ring member B, gets no edge (one coincidence per pair is not coordination:
the repetition rule of the shared-object layers) and joins no cluster, yet it took part
in the ring's campaign as often as a member. CooRTweet's ``min_participation`` (Giglietto
et al. 2020; ``detect_groups``) counts an account's coordinated shares over all partners
for this reason.

So an account outside the flagged rings is flagged as an *associate* of a ring when, in a
shared-object layer, it co-shared at least that layer's ``min_participation`` distinct
objects within the layer's window with anyone (its participation), at least one of them
with a member of that flagged ring. Associates stay out of the ring's members and score;
``actors.parquet`` says ``flagged`` and ``flagged_via`` (the ring's cluster id).

Only layers whose items are the same object count (``LayerConfig.match == "exact"``: a
URL, a post, an object id, a target). An associate's ties are single co-shares, each
with another partner, so no pair's repetition or chance test backs them: each one must
name the object unambiguously. A perceptual image hash is a near-duplicate match
(templates and memes collide) and a hashtag a topic; both still bind ring members, where
one pair repeats them beyond chance.
"""

from __future__ import annotations

import polars as pl

from ringscope.config import CoordinationConfig

__all__ = ["flagged_accounts"]


def flagged_accounts(
    co_shares: pl.DataFrame, flagged_members: pl.DataFrame, cfg: CoordinationConfig
) -> pl.DataFrame:
    """``actor``, ``flagged_via``: flagged ring members and their associates.

    ``co_shares``: ``layer``, ``a``, ``b``, ``item`` (from
    :func:`ringscope.graph.coordination.windowed_co_shares`; those of layers that do not
    match exact objects are left out); ``flagged_members``:
    ``actor``, ``cluster_id`` of the flagged rings. An associate tied to several rings is
    listed with the one it co-shared most objects with (ties: smallest cluster id).
    """
    members = flagged_members.select("actor", pl.col("cluster_id").alias("flagged_via"))
    exact = [name for name, layer in cfg.layers.items() if layer.match == "exact"]
    co_shares = co_shares.filter(pl.col("layer").is_in(exact))
    ends = pl.concat(
        [
            co_shares.select(
                "layer", pl.col("a").alias("actor"), pl.col("b").alias("partner"), "item"
            ),
            co_shares.select(
                "layer", pl.col("b").alias("actor"), pl.col("a").alias("partner"), "item"
            ),
        ]
    ).join(members, on="actor", how="anti")
    bars = pl.DataFrame(
        {
            "layer": list(cfg.layers),
            "bar": [layer.min_participation for layer in cfg.layers.values()],
        },
        schema={"layer": pl.Utf8, "bar": pl.UInt32},
    )
    participation = (
        ends.group_by("actor", "layer")
        .agg(pl.col("item").n_unique().alias("objects"))
        .join(bars, on="layer")
        .filter(pl.col("objects") >= pl.col("bar"))
        .select("actor", "layer")
    )
    ties = (
        ends.join(participation, on=["actor", "layer"])
        .join(members.rename({"actor": "partner"}), on="partner")
        .group_by("actor", "flagged_via")
        .agg(pl.struct("layer", "item").n_unique().alias("objects"))
        .sort(["actor", "objects", "flagged_via"], descending=[False, True, False])
        .group_by("actor", maintain_order=True)
        .first()
        .select("actor", "flagged_via")
    )
    return pl.concat([members, ties]).sort("actor")
