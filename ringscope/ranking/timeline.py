"""Per-cluster activity over time: how many events the members made in each day.

Investigators read a ring's timeline to see campaign waves (bursts on a few days) apart
from steady organic use; the snapshot keeps it as ``cluster_timeline.parquet`` so the
query API can show it without the event log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from ringscope.run_state import RunState

__all__ = ["BUCKET_MS", "TIMELINE_TABLE", "cluster_timeline", "timeline_step"]

BUCKET_MS = 86_400_000
TIMELINE_TABLE = "cluster_timeline"


def cluster_timeline(
    events: pl.DataFrame, members: pl.DataFrame, *, bucket_ms: int = BUCKET_MS
) -> pl.DataFrame:
    """Events per (cluster, UTC day): ``cluster_id``, ``bucket_start`` (epoch ms), ``events``.

    Args:
        events: event table with ``ts`` (epoch ms) and ``actor_id``.
        members: ``cluster_id``, ``actor_id``.
        bucket_ms: bucket width in milliseconds (one day by default).
    """
    return (
        events.select("ts", "actor_id")
        .join(members.select("cluster_id", "actor_id"), on="actor_id")
        .with_columns((pl.col("ts") // bucket_ms * bucket_ms).alias("bucket_start"))
        .group_by("cluster_id", "bucket_start")
        .agg(pl.len().cast(pl.Int64).alias("events"))
        .sort("cluster_id", "bucket_start")
    )


def timeline_step(state: RunState) -> dict[str, Any]:
    """Pipeline step ``timeline``: adds the ``cluster_timeline`` table."""
    table = cluster_timeline(state.ingest.events, state.tables["members"])
    state.tables[TIMELINE_TABLE] = table
    return {"rows": table.height}
