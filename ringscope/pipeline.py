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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

import ringscope
from ringscope.config import RunConfig
from ringscope.embeddings.step import EMBEDDINGS_TABLE, embeddings_step
from ringscope.engines import Engine, resolve_engine
from ringscope.errors import RejectRateExceeded
from ringscope.feedback.features import FEATURES_TABLE
from ringscope.feedback.step import (
    CONTRIBUTIONS_TABLE,
    Feedback,
    feedback_step,
    verdicts_step,
)
from ringscope.graph.communities import beyond_chance_rings, trim_periphery
from ringscope.graph.coordination import (
    CoordinationEvidence,
    chance_weighted,
    windowed_co_shares,
)
from ringscope.graph.hetero import HeteroGraph
from ringscope.ingest import IngestResult, write_rejects
from ringscope.privacy import Keyring
from ringscope.ranking.associates import flagged_accounts
from ringscope.ranking.content_model import actor_content_features, content_scores
from ringscope.ranking.evidence import cluster_evidence, cluster_layers
from ringscope.ranking.features import actor_features, with_freshness
from ringscope.ranking.kept_models import ModelCache, labelled_set
from ringscope.ranking.labels import EXTRA_LABEL_SCHEMA, actor_labels, with_extra_labels
from ringscope.ranking.learned_risk import LearnedRisk, fit_learned_risk, score_learned_risk
from ringscope.ranking.lineage import LINEAGE_TABLE, lineage_step
from ringscope.ranking.messages import message_table
from ringscope.ranking.receivers import receive_only_actors
from ringscope.ranking.scoring import actor_risk, cluster_id_for, score_clusters
from ringscope.ranking.signals import cluster_signals
from ringscope.ranking.timeline import TIMELINE_TABLE, timeline_step
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
    # does ingest, graph, coordination and communities (local or Spark, see engines.py)
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
    # an ingest made beforehand (the stream's cached segments): the ingest step takes it
    ingested: IngestResult | None = None
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


def _ingest(state: RunState) -> dict[str, Any]:
    state.ingest = state.ingested or state.engine.ingest(
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


#: Event types that are platform labels; a run without any ranks label-free.
LABEL_EVENTS = ("suspension", "report", "signup")


def _has_labels(state: RunState) -> bool:
    """Whether the run's events hold any platform label (suspension, report, signup)."""
    return bool(state.ingest.events["event_type"].is_in(LABEL_EVENTS).any())


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
    if not _has_labels(state):
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


def _co_shares(state: RunState) -> pl.DataFrame:
    """The windowed co-shares the coordination step kept, or made again for an engine
    that does not keep them."""
    kept = state.evidence.co_shares
    return kept if kept is not None else windowed_co_shares(state.graph, state.config.coordination)


def _verdict_labels(feedback: Feedback | None) -> pl.DataFrame | None:
    """Members of confirmed (True) and dismissed (False) clusters, known at run time."""
    if feedback is None:
        return None
    given = feedback.actor_labels
    return pl.DataFrame(
        {"actor_id": list(given), "label": [bool(v) for v in given.values()], "ts": None},
        schema=EXTRA_LABEL_SCHEMA,
    )


def _ranking(state: RunState) -> dict[str, Any]:
    cfg = state.config.scoring
    features = with_freshness(
        actor_features(state.ingest.events, state.graph), fresh_days=cfg.fresh_days
    )
    ids = features.select("actor", "actor_id")
    members = state.communities.join(ids, on="actor")
    cluster_ids = members.group_by("community").agg(
        pl.col("actor_id")
        .map_batches(lambda s: pl.Series([cluster_id_for(s.to_list())]), returns_scalar=True)
        .alias("cluster_id")
    )
    members = members.join(cluster_ids, on="community")
    events = state.ingest.events
    labels = with_extra_labels(
        actor_labels(
            events,
            state.graph,
            min_reporters=state.config.content_model.min_reporters,
            communities=state.communities,
        ),
        _verdict_labels(state.feedback),
        state.graph,
        now=int(events["ts"].max() or 0),
        source="verdict",
    )
    content, content_report = _content(state, labels)
    learned = _learned_risk(state, features, labels, content)
    if learned.risk is None:  # no learned model: member_risk carries no weight
        cfg = cfg.model_copy(update={"weights": cfg.weights | {"member_risk": 0.0}})
    signals = cluster_signals(
        members,
        features,
        state.graph,
        state.evidence,
        burst_window_ms=cfg.burst_window_ms,
        strength_half=cfg.strength_half,
        beyond_chance=cfg.flag_strength,
        learned_risk=learned.risk,
        content_risk=content,
    ).join(cluster_ids, on="community")
    signals = signals.join(cluster_layers(members, state.evidence), on="cluster_id", how="left")
    labelled = _has_labels(state)
    clusters = score_clusters(
        signals.with_columns(pl.col("layers").fill_null([])), cfg, labelled=labelled
    )
    strongest = (
        pl.concat(
            [
                state.evidence.edges.select(pl.col("src").alias("actor"), "weight"),
                state.evidence.edges.select(pl.col("dst").alias("actor"), "weight"),
            ]
        )
        .group_by("actor")
        .agg(pl.col("weight").max().alias("max_weight"))
    )
    memberships = members.join(
        clusters.select("cluster_id", "score", "content_abuse"), on="cluster_id"
    )
    content_risk = (
        None
        if content is None or learned.risk is not None
        else content.select("actor", pl.col("content_free_mean").alias("content_risk"))
    )
    actors = actor_risk(
        features,
        memberships,
        strongest,
        learned_risk=learned.risk,
        content_risk=content_risk,
        # without labels, repetition alone is not abuse: coordination counts as far as
        # the content shows abuse (see ringscope.ranking.scoring)
        content_gate=not labelled and content_risk is not None,
    )
    ring_members = members.join(
        clusters.filter(pl.col("flagged")).select("cluster_id"), on="cluster_id"
    ).select("actor", "cluster_id")
    flags = flagged_accounts(
        _co_shares(state),
        ring_members,
        state.config.coordination,
    )
    actors = actors.join(flags, on="actor", how="left").with_columns(
        pl.col("flagged_via").is_not_null().alias("flagged")
    )
    state.tables |= _output_tables(state, actors, clusters, members)
    return {
        "clusters": clusters.height,
        "flagged_clusters": int(clusters["flagged"].sum()),
        "flagged_accounts": flags.height,
        "flagged_associates": flags.height - ring_members.height,
        "ranking": "labels" if labelled else "label_free",
        "actors": actors.height,
        "labels": labels.group_by("source", "label").len().sort("source", "label").rows(),
        "content_model": content_report,
        "risk_model": learned.report,
    }


def _learned_risk(
    state: RunState, features: pl.DataFrame, labels: pl.DataFrame, content: pl.DataFrame | None
) -> LearnedRisk:
    """The learned actor risk: fitted, or (a stream between refits) scored by kept models."""
    args = (state.ingest.events, state.graph, features, state.evidence.edges)
    cfg = state.config.risk_model
    cache = state.models
    if cache is None:
        return fit_learned_risk(
            *args,
            cfg,
            labels=labels,
            content=content,
            embeddings=state.embeddings,
            embeddings_use_labels=state.config.embeddings.label_weight > 0,
        )
    given = labelled_set(labels, features)
    n_events = state.ingest.events.height
    reason = cache.refit_reason(state.config, n_events, given, content is not None)
    if reason is None:
        cache.reused()
        learned = score_learned_risk(cache.risk, *args, cfg, labels=labels, content=content)
        stream = {"refit": False, "batches_since_fit": cache.batches_since_fit}
        return LearnedRisk(learned.risk, learned.report | {"stream": stream})
    learned = fit_learned_risk(
        *args,
        cfg,
        labels=labels,
        content=content,
        embeddings=state.embeddings,
        embeddings_use_labels=state.config.embeddings.label_weight > 0,
        keep=True,
    )
    cache.fitted(learned.kept, state.config, n_events, given, content is not None)
    return LearnedRisk(learned.risk, learned.report | {"stream": {"refit": True, "why": reason}})


def _content(state: RunState, labels: pl.DataFrame) -> tuple[pl.DataFrame | None, dict[str, Any]]:
    """Per-actor content features from the message-level content model (None if off)."""
    cfg = state.config.content_model
    if not cfg.enabled:
        return None, {"used": False, "reason": "disabled in config (content_model.enabled)"}
    messages = message_table(state.ingest.events, state.graph, state.ingest.content)
    if messages.n == 0:
        return None, {"used": False, "reason": "no messages"}
    scores = content_scores(messages, labels, cfg)
    return actor_content_features(messages, scores), scores.report


def _output_tables(
    state: RunState, actors: pl.DataFrame, clusters: pl.DataFrame, members: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    """The snapshot tables: contract columns first, explanations after."""
    ids = actors.select("actor", "actor_id")
    id_of = {
        "src": ids.rename({"actor": "src", "actor_id": "src_id"}),
        "dst": ids.rename({"actor": "dst", "actor_id": "dst_id"}),
    }

    def named(df: pl.DataFrame) -> pl.DataFrame:
        out = df.join(id_of["src"], on="src").join(id_of["dst"], on="dst")
        return out.drop("src", "dst").rename({"src_id": "src", "dst_id": "dst"})

    ev = state.evidence
    receivers = receive_only_actors(
        state.graph,
        members,
        clusters.select("cluster_id", "score"),
        ev,
        actors["actor_id"],
    )
    acting = actors.select(
        "actor_id",
        pl.col("risk_score").cast(pl.Float64),
        "cluster_id",
        "known_bad",
        "fresh",
        "n_reporters",
        "n_events",
        "n_messages",
        "n_recipients",
        "n_oneshot_strangers",
        "first_ts",
        "last_ts",
        "signup_ts",
        "flagged",
        "flagged_via",
        pl.lit(False).alias("receive_only"),
    )
    actor_table = pl.concat(
        [
            acting,
            receivers.with_columns(
                pl.lit(False).alias("known_bad"),
                pl.lit(False).alias("flagged"),
                pl.lit(True).alias("receive_only"),
            ),
        ],
        how="diagonal_relaxed",
    ).sort("actor_id")
    cluster_table = clusters.drop("community").select(
        "cluster_id",
        "rank",
        "score",
        "size",
        "summary",
        pl.exclude("cluster_id", "rank", "score", "size", "summary"),
    )
    member_table = (
        members.join(actors.select("actor", "risk_score"), on="actor")
        .select("cluster_id", "actor_id", "risk_score")
        .sort("cluster_id", "actor_id")
    )
    evidence_items = cluster_evidence(members.select("actor", "cluster_id"), ev)
    return {
        "actors": actor_table,
        "clusters": cluster_table,
        "members": member_table,
        "edges": named(ev.edges)
        .select("src", "dst", "weight", "layers", "strength")
        .sort("src", "dst"),
        "evidence": named(ev.evidence)
        .select(
            "src",
            "dst",
            "layer",
            "similarity",
            "contribution",
            "n_items",
            "first_ts",
            "last_ts",
            "items",
            "co_shares",
            "median_gap_ms",
            "max_gap_ms",
            "expected",
            "significance",
        )
        .sort("src", "dst", "layer"),
        "cluster_evidence": evidence_items,
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
    Step("ranking", _ranking, lambda s: s.tables),
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
    ingested: IngestResult | None = None,
    models: ModelCache | None = None,
) -> Path:
    """Run every step and publish a snapshot under ``out_root``; returns its directory.

    ``database_url`` names the verdict store whose verdicts shape the ranking; default:
    the store ``ringscope serve`` keeps in ``out_root``, when there is one.

    When the reject-rate limit trips, the rejects are still written (next to the
    snapshots, as ``rejects-failed-<id>.jsonl.gz``) and the error names that file.
    What a killed run left half-published under ``out_root`` is removed first.
    ``ingested``: the result of ingesting ``inputs`` made beforehand (the stream's
    per-segment cache, :mod:`ringscope.stream.ingest_cache`), used instead of reading them.
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
        t0 = time.perf_counter()
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
        t0 = time.perf_counter()
        for name, table in state.tables.items():
            table.write_parquet(tmp / f"{name}.parquet")
        for name, write_file in state.files.items():
            write_file(tmp / name)
        write_rejects(result.rejects, tmp / "rejects.jsonl.gz")
        manifest["timings"]["publish"] = {"seconds": round(time.perf_counter() - t0, 3)}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")

    return publish_snapshot(Path(out_root), snapshot_id, write)


def _dump_debug(state: RunState, step: Step, debug_dir: Path) -> None:
    """Write the tables a step produced, for tracing a result back to its step."""
    out = debug_dir / step.name
    out.mkdir(parents=True, exist_ok=True)
    for name, df in step.tables(state).items():
        df.write_parquet(out / f"{name}.parquet")
