"""The seam between the run pipeline and the engine that does the heavy steps.

The pipeline (:mod:`ringscope.pipeline`) is one list of steps; an :class:`Engine` does the
work of the engine-specific ones: ingest, the typed graph, coordination evidence and
communities. Ranking and later steps run on the driver on the reduced tables both engines
return in the same form, so the snapshot format does not depend on the engine.
Engine names resolve to classes here and only here (``RunConfig.engine``, ``--engine``):
:mod:`ringscope.engines.local` (one machine) and :mod:`ringscope.engines.spark`.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from ringscope.config import CommunityConfig, CoordinationConfig, RunConfig
from ringscope.errors import ConfigError
from ringscope.graph.communities import DEFAULT_RESOLUTION, detect_communities
from ringscope.graph.coordination import CoordinationEvidence
from ringscope.graph.hetero import HeteroGraph, build_hetero_graph
from ringscope.ingest import IngestResult, ingest
from ringscope.privacy import Keyring

__all__ = ["ENGINES", "Engine", "driver_communities", "resolve_engine"]


class Engine(ABC):
    """What an engine provides to the pipeline; every method returns driver-side tables."""

    name: str

    def __init__(self, config: RunConfig) -> None:
        self.config = config

    def ingest(
        self, inputs: Sequence[Path], *, keyring: Keyring, max_reject_rate: float, progress: bool
    ) -> IngestResult:
        """Input files -> the pseudonymised event table and rejects (see ingest)."""
        return ingest(inputs, keyring=keyring, max_reject_rate=max_reject_rate, progress=progress)

    def graph(self, events: pl.DataFrame) -> HeteroGraph:
        """The typed heterogeneous graph of the event table."""
        return build_hetero_graph(events)

    @abstractmethod
    def coordination(self, graph: HeteroGraph, cfg: CoordinationConfig) -> CoordinationEvidence:
        """Actor–actor coordination evidence (edges and per-layer ledger)."""

    @abstractmethod
    def communities(
        self, n_actors: int, edges: pl.DataFrame, cfg: CommunityConfig
    ) -> tuple[pl.DataFrame, dict[str, Any]]:
        """``actor``/``community`` rows and what ran, for the manifest (method, resolution)."""

    def close(self) -> None:  # noqa: B027 - engines without resources need no cleanup
        """Release what the engine started (sessions, scratch files)."""


def driver_communities(
    n_actors: int, edges: pl.DataFrame, cfg: CommunityConfig
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """``communities.method`` (Leiden by default) in this process, and what ran."""
    resolution = cfg.resolution or DEFAULT_RESOLUTION[cfg.method.lower()]
    frame = detect_communities(
        n_actors,
        edges,
        method=cfg.method,
        resolution=resolution,
        seed=cfg.seed,
        min_size=cfg.min_size,
    )
    return frame, {"method": cfg.method, "resolution": resolution, "where": "driver"}


#: Engine name -> ``module:Class`` (imported on use, so pyspark loads only for Spark).
ENGINES: dict[str, str] = {
    "local": "ringscope.engines.local:LocalEngine",
    "spark": "ringscope.engines.spark.engine:SparkEngine",
}


def resolve_engine(config: RunConfig) -> Engine:
    """The engine ``config.engine`` names, configured but not yet started."""
    try:
        module, cls = ENGINES[config.engine].split(":")
    except KeyError:
        raise ConfigError(
            f"unknown engine {config.engine!r}; choose one of: {', '.join(sorted(ENGINES))}"
        ) from None
    return getattr(importlib.import_module(module), cls)(config)
