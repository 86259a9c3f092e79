"""What the verdict feedback adds to the queue: review lanes and the learned score part.

Snapshots published before the feedback step have none of its columns; they read as
an all-open queue without a ranker.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from ringscope.api.models import LearnedContribution, LearnedPublic
from ringscope.api.snapshot_view import SnapshotView

__all__ = ["Lane", "lane_filter", "learned_part"]

Lane = Literal["open", "teach", "dismissed_before"]


def lane_filter(clusters: pl.DataFrame, lane: str | None) -> pl.DataFrame:
    """The clusters of one review lane (snapshots without feedback columns: all open)."""
    if lane is None:
        return clusters
    if lane == "teach":
        if "teach_reason" not in clusters.columns:
            return clusters.clear()
        return clusters.filter(pl.col("teach_reason").is_not_null())
    state = pl.col("review_state") if "review_state" in clusters.columns else pl.lit("open")
    if lane == "open":
        return clusters.filter(state != "dismissed_before")
    return clusters.filter(state == "dismissed_before")


def learned_part(view: SnapshotView, row: dict) -> LearnedPublic | None:
    """The ranker's part of a cluster's score, or None when the run had no ranker."""
    if not row.get("learned_weight"):
        return None
    table = view.ranker_contributions.filter(pl.col("cluster_id") == row["cluster_id"])
    table = table.sort(pl.col("contribution").abs(), "feature", descending=[True, False])
    return LearnedPublic(
        learned_score=row["learned_score"],
        weight=row["learned_weight"],
        prior_score=row["prior_score"],
        bias=row["learned_bias"],
        contributions=[
            LearnedContribution(**r)
            for r in table.select("feature", "value", "contribution").to_dicts()
        ],
    )
