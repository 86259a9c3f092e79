"""The run pipeline as data: named steps from event files to a published snapshot.

Each step reads what earlier steps left in :class:`RunState`, adds its own outputs and
returns counts for the manifest; the runner times every step. ``--debug-dir`` writes each
step's tables out (parquet) so a surprising result can be traced to the step that made it.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

import ringscope
from ringscope.config import RunConfig
from ringscope.embeddings.step import EMBEDDINGS_TABLE, embeddings_step
from ringscope.engines import resolve_engine
from ringscope.errors import RejectRateExceeded
from ringscope.feedback.features import FEATURES_TABLE
from ringscope.feedback.step import CONTRIBUTIONS_TABLE, feedback_step, verdicts_step
from ringscope.graph.communities import beyond_chance_rings, trim_periphery
from ringscope.graph.coordination import chance_weighted
from ringscope.ingest import IngestResult, write_rejects
from ringscope.privacy import Keyring
from ringscope.ranking.kept_models import ModelCache
from ringscope.ranking.lineage import LINEAGE_TABLE, lineage_step
from ringscope.ranking.step import ranking_step
from ringscope.ranking.timeline import TIMELINE_TABLE, timeline_step
from ringscope.run_state import RunState, Step, has_labels
from ringscope.signup.step import OFFENDER_TABLES, offender_index
from ringscope.snapshot import (
    FORMAT_VERSION,
    latest_snapshot,
    new_snapshot_id,
    publish_snapshot,
    remove_stale_partials,
)

__all__ = ["STEPS", "RunState", "Step", "run_pipeline"]

log = logging.getLogger(__name__)

_VERSIONED = ("polars", "duckdb", "pyarrow", "igraph", "leidenalg", "networkx", "numpy")


def _ingest(state: RunState) -> dict[str, Any]:
    made = state.ingested() if callable(state.ingested) else state.ingested
    state.ingest = made or state.engine.ingest(
        state.inputs,
        keyring=state.keyring,
        max_reject_rate=state.config.max_reject_rate,
        progress=state.progress,
    )
    state.ingested = None
    result = state.ingest
    return {
        "events": result.events.height,
        "rejected": result.rejects.height,
        "duplicates": result.duplicates,
    }


def _graph(state: RunState) -> dict[str, Any]:
    state.graph = state.engine.graph(state.ingest.events)
    # The list columns live on in the graph; dropping them here halves the event table.
    state.ingest.events = state.ingest.events.drop(
        "recipients", "domains", "content_bands", "urls", "object_ids"
    )
    return state.graph.summary()


def _coordination(state: RunState) -> dict[str, Any]:
    state.evidence = state.engine.coordination(state.graph, state.config.coordination)
    return {"edges": state.evidence.edges.height, "layers": state.evidence.stats}


def _communities(state: RunState) -> dict[str, Any]:
    """Communities of the evidence graph; without labels only beyond-chance ties bind.

    A run without labels ranks by significance, so its rings are the connected groups of
    beyond-chance ties (edge strength at or above ``scoring.flag_strength``, kept whole
    and not trimmed: :func:`beyond_chance_rings`); the accounts outside them are grouped
    by the configured method on edge weights set by each edge's chance significance
    (:func:`chance_weighted`): a tie no more likely than chance (a shared site, a single
    coincidence) does not pull an account into a ring. With labels, the evidence weights
    are used as they are.
    """
    cfg = state.config.communities
    edges = state.evidence.edges
    n_actors = state.graph.num_nodes("actor")
    rings = pl.DataFrame(schema={"actor": pl.UInt32, "community": pl.Int64})
    if not has_labels(state):
        edges = chance_weighted(edges, state.config.scoring.strength_half)
        rings = beyond_chance_rings(
            n_actors,
            edges,
            min_strength=state.config.scoring.flag_strength,
            max_size=cfg.ring_max_size,
            method=cfg.method,
            resolution=cfg.resolution,
            seed=cfg.seed,
            min_size=cfg.min_size,
        )
        bound = rings["actor"].implode()
        edges = edges.filter(~pl.col("src").is_in(bound) & ~pl.col("dst").is_in(bound))
    state.communities, ran = state.engine.communities(n_actors, edges, cfg)
    before = state.communities.height
    if cfg.trim_periphery:
        state.communities = trim_periphery(
            state.communities,
            edges,
            min_degree=cfg.trim_min_degree,
            min_strength_ratio=cfg.trim_strength_ratio,
            min_size=cfg.min_size,
        )
    trimmed = before - state.communities.height
    if rings.height:
        offset = int(rings["community"].max()) + 1
        state.communities = pl.concat(
            [rings, state.communities.with_columns(pl.col("community") + offset)]
        ).sort("actor")
    return ran | {
        "trimmed_actors": trimmed,
        "seed": cfg.seed,
        "beyond_chance_rings": rings["community"].n_unique(),
        "clusters": state.communities["community"].n_unique(),
        "clustered_actors": state.communities.height,
    }


def _graph_tables(state: RunState) -> dict[str, pl.DataFrame]:
    nodes = {f"nodes_{t}": df for t, df in state.graph.nodes.items()}
    return nodes | {"edges_" + "_".join(et): df for et, df in state.graph.edges.items()}


STEPS: tuple[Step, ...] = (
    Step("ingest", _ingest, lambda s: {"events": s.ingest.events}),
    Step("graph", _graph, _graph_tables),
    Step(
        "coordination",
        _coordination,
        lambda s: {"edges": s.evidence.edges, "evidence": s.evidence.evidence},
    ),
    Step("communities", _communities, lambda s: {"communities": s.communities}),
    Step(
        "embeddings",
        embeddings_step,
        lambda s: {k: s.tables[k] for k in (EMBEDDINGS_TABLE,) if k in s.tables},
    ),
    Step("verdicts", verdicts_step, lambda s: {}),
    Step("ranking", ranking_step, lambda s: s.tables),
    Step("lineage", lineage_step, lambda s: {LINEAGE_TABLE: s.tables[LINEAGE_TABLE]}),
    Step(
        "feedback",
        feedback_step,
        lambda s: {
            k: s.tables[k]
            for k in ("clusters", FEATURES_TABLE, CONTRIBUTIONS_TABLE)
            if k in s.tables
        },
    ),
    Step("timeline", timeline_step, lambda s: {TIMELINE_TABLE: s.tables[TIMELINE_TABLE]}),
    Step("offender_index", offender_index, lambda s: {t: s.tables[t] for t in OFFENDER_TABLES}),
)


def _versions() -> dict[str, str]:
    out = {"ringscope": ringscope.__version__, "python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def run_pipeline(
    inputs: Sequence[Path],
    out_root: Path,
    *,
    config: RunConfig,
    keyring: Keyring,
    progress: bool = False,
    debug_dir: Path | None = None,
    on_step: Callable[[str, float], None] | None = None,
    database_url: str | None = None,
    ingested: IngestResult | Callable[[], IngestResult] | None = None,
    models: ModelCache | None = None,
) -> Path:
    """Run every step and publish a snapshot under ``out_root``; returns its directory.

    ``database_url`` names the verdict store whose verdicts shape the ranking; default:
    the store ``ringscope serve`` keeps in ``out_root``, when there is one.

    When the reject-rate limit trips, the rejects are still written (next to the
    snapshots, as ``rejects-failed-<id>.jsonl.gz``) and the error names that file.
    What a killed run left half-published under ``out_root`` is removed first.
    ``ingested``: the result of ingesting ``inputs`` made beforehand (the stream's
    per-segment cache, :mod:`ringscope.stream.ingest_cache`), used instead of reading them;
    a callable is called by the ingest step (its time is then the step's).
    ``models``: a stream's kept ranking models (:mod:`ringscope.ranking.kept_models`),
    used and updated by the ranking step; None fits every model, as a batch run does.
    """
    for stale in remove_stale_partials(Path(out_root)):
        log.warning("removed %s, left by a run that did not finish", stale.name)
    started = datetime.now(UTC)
    snapshot_id = new_snapshot_id(started)
    state = RunState(
        inputs=[Path(p) for p in inputs],
        config=config,
        keyring=keyring,
        progress=progress,
        engine=resolve_engine(config),
        out_root=Path(out_root),
        previous=latest_snapshot(Path(out_root)),
        database_url=database_url,
        ingested=ingested,
        models=models,
    )
    timings: dict[str, dict[str, float]] = {}
    counts: dict[str, Any] = {}
    for step in STEPS:
        t0, cpu0 = time.perf_counter(), time.process_time()
        try:
            counts[step.name] = step.run(state)
        except RejectRateExceeded as exc:
            failed = Path(out_root) / f"rejects-failed-{snapshot_id}.jsonl.gz"
            failed.parent.mkdir(parents=True, exist_ok=True)
            write_rejects(exc.result.rejects, failed)
            raise RejectRateExceeded(f"{exc}; rejected records written to {failed}") from None
        seconds = time.perf_counter() - t0
        n_events = state.ingest.events.height + state.ingest.rejects.height
        timings[step.name] = {
            "seconds": round(seconds, 3),
            "cpu_seconds": round(time.process_time() - cpu0, 3),
            "events_per_s": round(n_events / seconds, 1) if seconds > 0 else None,
        }
        log.info("step %s done in %.2fs", step.name, seconds)
        if on_step:
            on_step(step.name, seconds)
        if debug_dir is not None:
            _dump_debug(state, step, Path(debug_dir))
    state.engine.close()

    result = state.ingest
    manifest = {
        "format_version": FORMAT_VERSION,
        "snapshot_id": snapshot_id,
        "created_at": started.isoformat(),
        "engine": config.engine,
        "inputs": [vars(s) | {"path": str(s.path)} for s in result.inputs],
        "events": result.events.height,
        "rejected": result.rejects.height,
        "duplicates": result.duplicates,
        "input_fields": result.input_fields,
        "key_fingerprint": keyring.fingerprint,
        "insecure_demo_key": keyring.is_demo,
        "steps": counts,
        "timings": timings,
        "versions": _versions(),
        "config": config.model_dump(),
    }

    def write(tmp: Path) -> None:
        t0, cpu0 = time.perf_counter(), time.process_time()
        for name, table in state.tables.items():
            table.write_parquet(tmp / f"{name}.parquet")
        for name, write_file in state.files.items():
            write_file(tmp / name)
        write_rejects(result.rejects, tmp / "rejects.jsonl.gz")
        manifest["timings"]["publish"] = {
            "seconds": round(time.perf_counter() - t0, 3),
            "cpu_seconds": round(time.process_time() - cpu0, 3),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")

    return publish_snapshot(Path(out_root), snapshot_id, write)


def _dump_debug(state: RunState, step: Step, debug_dir: Path) -> None:
    """Write the tables a step produced, for tracing a result back to its step."""
    out = debug_dir / step.name
    out.mkdir(parents=True, exist_ok=True)
    for name, df in step.tables(state).items():
        df.write_parquet(out / f"{name}.parquet")
