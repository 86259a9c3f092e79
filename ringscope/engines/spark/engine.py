"""The Spark engine: ingest, coordination evidence and communities on a Spark cluster.

Ingest runs on the executors (:mod:`.ingest`): ``spark.read`` and the local engine's own
record validation, normalisation and pseudonymisation per block of records (one
implementation), the event table sorted and written as Parquet by the executors and read
by the driver. The typed graph is still built on the driver from that table. Coordination
evidence, the step whose cost grows with co-occurrences, runs on the executors: Spark
shuffles by item, actor and pair, and each partition runs the local engine's kernels;
communities run on GraphFrames or, when the reduced actor graph fits
(``spark.leiden_max_edges``), with the configured method on the driver. The manifest
records which.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ringscope.config import CommunityConfig, CoordinationConfig, RunConfig
from ringscope.engines import Engine, driver_communities
from ringscope.engines.spark.communities import spark_components, spark_label_propagation
from ringscope.engines.spark.coordination import build_evidence_spark
from ringscope.engines.spark.frames import WorkDir
from ringscope.engines.spark.ingest import spark_ingest
from ringscope.engines.spark.session import spark_session
from ringscope.graph.coordination import CoordinationEvidence
from ringscope.graph.hetero import HeteroGraph
from ringscope.ingest import IngestResult
from ringscope.privacy import Keyring

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["SparkEngine"]


class SparkEngine(Engine):
    """Spark (``spark.master``, ``local[*]`` by default) with GraphFrames.

    The session starts on first use; a session that is already active (a notebook's,
    ``spark-submit``'s, a test suite's) is reused and left running by :meth:`close`.
    """

    name = "spark"

    def __init__(self, config: RunConfig) -> None:
        super().__init__(config)
        self._session: SparkSession | None = None
        self._owns_session = False
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._work: WorkDir | None = None

    @property
    def session(self) -> SparkSession:
        """The Spark session, started (or found) on first use."""
        if self._session is None:
            from pyspark.sql import SparkSession

            self._owns_session = SparkSession.getActiveSession() is None
            self._session = spark_session(self.config.spark)
        return self._session

    @property
    def work(self) -> WorkDir:
        """Scratch space for Parquet hand-offs between the driver and Spark."""
        if self._work is None:
            scratch_dir = self.config.spark.scratch_dir
            if scratch_dir is not None:
                Path(scratch_dir).mkdir(parents=True, exist_ok=True)
            self._scratch = tempfile.TemporaryDirectory(prefix="ringscope-spark-", dir=scratch_dir)
            self._work = WorkDir(Path(self._scratch.name))
        return self._work

    def ingest(
        self, inputs: Sequence[Path], *, keyring: Keyring, max_reject_rate: float, progress: bool
    ) -> IngestResult:
        """Ingest on the executors (:mod:`.ingest`): the local engine's checks and keyed
        hashing per block of records, the event table written by the executors."""
        return spark_ingest(
            self.session, inputs, keyring=keyring, work=self.work, max_reject_rate=max_reject_rate
        )

    def coordination(self, graph: HeteroGraph, cfg: CoordinationConfig) -> CoordinationEvidence:
        """Coordination evidence on the executors, with the local kernels (same edges)."""
        return build_evidence_spark(self.session, graph, cfg, self.work)

    def communities(
        self, n_actors: int, edges: pl.DataFrame, cfg: CommunityConfig
    ) -> tuple[pl.DataFrame, dict[str, Any]]:
        """GraphFrames components or label propagation, or the driver method when it fits."""
        spark_cfg = self.config.spark
        method = spark_cfg.community_method
        if method == "driver" and edges.height <= spark_cfg.leiden_max_edges:
            frame, info = driver_communities(n_actors, edges, cfg)
            return frame, info | {"leiden_max_edges": spark_cfg.leiden_max_edges}
        if method == "components":
            frame = spark_components(self.session, edges, self.work, min_size=cfg.min_size)
            return frame, {"method": "components", "resolution": 0.0, "where": "spark"}
        frame = spark_label_propagation(
            self.session,
            edges,
            self.work,
            iterations=spark_cfg.label_propagation_iterations,
            min_size=cfg.min_size,
        )
        info = {"method": "label_propagation", "resolution": 0.0, "where": "spark"}
        if method == "driver":
            info["fallback_from"] = cfg.method
            info["leiden_max_edges"] = spark_cfg.leiden_max_edges
        return frame, info | {"iterations": spark_cfg.label_propagation_iterations}

    def close(self) -> None:
        """Stop the session if this engine started it; delete the scratch files."""
        if self._session is not None and self._owns_session:
            self._session.stop()
        self._session = None
        if self._scratch is not None:
            self._scratch.cleanup()
        self._scratch = self._work = None
