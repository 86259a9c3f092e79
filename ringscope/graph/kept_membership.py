"""A stream's community membership kept between micro-batches, for Leiden to start from.

Leiden (``leidenalg``'s ``initial_membership``) refines a given partition instead of
starting from singletons: a micro-batch's evidence graph is the previous one plus what
its new events added, so most of the previous communities are still close to optimal
and Leiden mostly moves the actors the new edges touched. Actors are kept by node key
(node indices move between batches); an actor new to the evidence graph starts alone.
The result is a local optimum of the same quality function that can differ from a cold
start's on the same graph (``tests/graph/test_kept_membership.py`` measures the
agreement); a compaction or a new worker process starts cold again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ringscope.graph.hetero import HeteroGraph

__all__ = ["KeptMembership"]


@dataclass
class KeptMembership:
    """Actor key -> community of the previous batch (None: nothing kept)."""

    frame: pl.DataFrame | None = None

    def initial(self, hg: HeteroGraph) -> np.ndarray | None:
        """Per actor of ``hg`` its previous community, -1 where it had none."""
        if self.frame is None:
            return None
        hit = self.frame.join(hg.nodes["actor"].select("key", "idx"), on="key")
        out = np.full(hg.num_nodes("actor"), -1, dtype=np.int64)
        out[hit["idx"].to_numpy()] = hit["community"].to_numpy()
        return out

    def remember(self, hg: HeteroGraph, communities: pl.DataFrame) -> None:
        """Keep ``communities`` (``actor`` index, ``community``) by actor key."""
        keys = hg.nodes["actor"].select(pl.col("idx").cast(pl.UInt32).alias("actor"), "key")
        self.frame = communities.join(keys, on="actor").select("key", "community")
