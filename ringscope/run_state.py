"""What a run carries from step to step (:class:`RunState`) and what a step is.

A leaf module: the pipeline and every step module (``ringscope/*/step.py``) import it,
and it imports none of them (their types only for type checking), so steps live beside
the code they run without import cycles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from ringscope.config import RunConfig
    from ringscope.engines import Engine
    from ringscope.feedback.step import Feedback
    from ringscope.graph.coordination import CoordinationEvidence
    from ringscope.graph.hetero import HeteroGraph
    from ringscope.ingest import IngestResult
    from ringscope.privacy import Keyring
    from ringscope.ranking.kept_models import ModelCache

__all__ = ["LABEL_EVENTS", "RunState", "Step", "has_labels"]


@dataclass
class RunState:
    """Inputs, settings and every step's outputs for one run.

    ``previous`` is the snapshot published last under ``out_root`` (for steps that carry
    state across snapshots); ``tables`` become ``<name>.parquet`` in the new snapshot and
    each ``files[name]`` writer is called with the path of a non-table file to write.
    """

    inputs: list[Path]
    config: RunConfig
    keyring: Keyring
    progress: bool = False
    # does ingest, graph, coordination and communities (local or Spark: ringscope/engines)
    engine: Engine | None = None
    ingest: IngestResult | None = None
    graph: HeteroGraph | None = None
    evidence: CoordinationEvidence | None = None
    communities: pl.DataFrame | None = None
    # one row per actor node: ``actor`` (u32 index), ``embedding`` (Array[f32, dim], unit
    # length); None when the embeddings step is skipped. See ringscope/embeddings/step.py.
    embeddings: pl.DataFrame | None = None
    out_root: Path | None = None
    previous: Path | None = None
    # the verdict store read by the ``verdicts`` step (see ringscope/feedback/step.py)
    database_url: str | None = None
    feedback: Feedback | None = None
    # an ingest made beforehand, or made by the ingest step from the stream's cached
    # segments (a callable, so the step's time is the merge's): the ingest step takes it
    ingested: IngestResult | Callable[[], IngestResult] | None = None
    # a stream's models kept between micro-batches (None: fit everything, as a batch run)
    models: ModelCache | None = None
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    files: dict[str, Callable[[Path], None]] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One named step: ``run`` returns counts for the manifest, ``tables`` its outputs."""

    name: str
    run: Callable[[RunState], dict[str, Any]]
    tables: Callable[[RunState], dict[str, pl.DataFrame]]


#: Event types that are platform labels; a run without any ranks label-free.
LABEL_EVENTS = ("suspension", "report", "signup")


def has_labels(state: RunState) -> bool:
    """Whether the run's events hold any platform label (suspension, report, signup)."""
    return bool(state.ingest.events["event_type"].is_in(LABEL_EVENTS).any())
