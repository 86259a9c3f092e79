"""How far a streamed snapshot's clusters agree with a batch run's, for the stream tests."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from sklearn.metrics import adjusted_rand_score

from ringscope.snapshot import read_table


def cluster_ari(streamed: Path, batch: Path) -> float:
    """Adjusted Rand index of the two snapshots' clusterings over every actor of either;
    an actor outside every cluster is its own singleton."""
    a, b = (read_table(s, "actors").select("actor_id", "cluster_id") for s in (streamed, batch))
    both = a.join(b, on="actor_id", how="full", coalesce=True, suffix="_batch")
    labels = both.select(
        pl.col("cluster_id").fill_null(pl.col("actor_id")),
        pl.col("cluster_id_batch").fill_null(pl.col("actor_id")),
    )
    return adjusted_rand_score(labels["cluster_id"], labels["cluster_id_batch"])
