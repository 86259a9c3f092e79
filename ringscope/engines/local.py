"""The local engine: one machine, polars, numpy and igraph/leidenalg in this process."""

from __future__ import annotations

from typing import Any

import polars as pl

from ringscope.config import CommunityConfig, CoordinationConfig
from ringscope.engines import Engine, driver_communities
from ringscope.graph.coordination import CoordinationEvidence, build_evidence
from ringscope.graph.hetero import HeteroGraph

__all__ = ["LocalEngine"]


class LocalEngine(Engine):
    """One machine: polars, numpy and igraph/leidenalg in this process."""

    name = "local"

    def coordination(self, graph: HeteroGraph, cfg: CoordinationConfig) -> CoordinationEvidence:
        """Coordination evidence with :func:`ringscope.graph.coordination.build_evidence`."""
        return build_evidence(graph, cfg)

    def communities(
        self, n_actors: int, edges: pl.DataFrame, cfg: CommunityConfig
    ) -> tuple[pl.DataFrame, dict[str, Any]]:
        """Communities with the configured method, in this process."""
        return driver_communities(n_actors, edges, cfg)
