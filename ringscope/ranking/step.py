"""The ranking step: from communities and evidence to scored clusters and actor risk.

It reads what ingest, graph, coordination, communities, embeddings and the verdict
store left in :class:`~ringscope.run_state.RunState`, fits (or, in a stream between
refits, reuses) the content and risk models, scores the clusters and writes the
snapshot's main tables into ``state.tables``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from ringscope.graph.coordination import windowed_co_shares
from ringscope.ranking.associates import flagged_accounts
from ringscope.ranking.content_model import actor_content_features, content_scores
from ringscope.ranking.evidence import cluster_evidence, cluster_layers
from ringscope.ranking.features import actor_features, with_freshness
from ringscope.ranking.kept_content import KeptContent, keep_content, kept_content_scores
from ringscope.ranking.kept_models import labelled_set
from ringscope.ranking.labels import EXTRA_LABEL_SCHEMA, actor_labels, with_extra_labels
from ringscope.ranking.learned_risk import LearnedRisk, fit_learned_risk, score_learned_risk
from ringscope.ranking.messages import Messages, message_table
from ringscope.ranking.receivers import receive_only_actors
from ringscope.ranking.scoring import actor_risk, cluster_id_for, score_clusters
from ringscope.ranking.signals import cluster_signals
from ringscope.run_state import has_labels

if TYPE_CHECKING:
    from ringscope.feedback.step import Feedback
    from ringscope.run_state import RunState

__all__ = ["ranking_step"]


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


def ranking_step(state: RunState) -> dict[str, Any]:
    """Actor features and risk, clusters with signals and scores, flagged accounts, and
    the snapshot's main tables (actors, clusters, members, edges, evidence)."""
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
    cfg_content = state.config.content_model
    messages = (
        message_table(events, state.graph, state.ingest.content) if cfg_content.enabled else None
    )
    with_content = messages is not None and messages.n > 0
    refit = _refit_reason(state, features, labels, with_content)
    content, content_report, kept_content = _content(state, labels, messages, refit)
    del messages  # large at scale (terms, side facts): not held through the risk model
    learned = _learned_risk(state, features, labels, content, refit, kept_content)
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
    labelled = has_labels(state)
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


def _refit_reason(
    state: RunState, features: pl.DataFrame, labels: pl.DataFrame, with_content: bool
) -> str | None:
    """Why this run fits the content and risk models; None: a stream batch between refits
    (:mod:`ringscope.ranking.kept_models`), which scores with the kept ones."""
    if state.models is None:
        return "a batch run fits"
    given = labelled_set(labels, features)
    n_events = state.ingest.events.height
    return state.models.refit_reason(state.config, n_events, given, with_content)


def _learned_risk(
    state: RunState,
    features: pl.DataFrame,
    labels: pl.DataFrame,
    content: pl.DataFrame | None,
    refit: str | None,
    kept_content: KeptContent | None,
) -> LearnedRisk:
    """The learned actor risk: fitted, or (a stream between refits) scored by kept models;
    a stream's fit keeps its models with ``kept_content`` (the content model's)."""
    args = (features, state.evidence.edges)
    cfg = state.config.risk_model
    cache = state.models
    fit = {
        "labels": labels,
        "content": content,
        "embeddings": state.embeddings,
        "embeddings_use_labels": state.config.embeddings.label_weight > 0,
    }
    if cache is None:
        return fit_learned_risk(*args, cfg, **fit)
    if refit is None and cache.risk is not None:
        learned = score_learned_risk(
            cache.risk, *args, cfg, labels=labels, content=content, previous=cache.scored
        )
        cache.reused(learned.scored)
        stream = {
            "refit": False,
            "batches_since_fit": cache.batches_since_fit,
            "actors_scored": learned.report["actors_scored"],
        }
        return LearnedRisk(learned.risk, learned.report | {"stream": stream})
    learned = fit_learned_risk(*args, cfg, **fit, keep=True)
    given = labelled_set(labels, features)
    n_events = state.ingest.events.height
    cache.fitted(learned.kept, kept_content, state.config, n_events, given, content is not None)
    return LearnedRisk(learned.risk, learned.report | {"stream": {"refit": True, "why": refit}})


def _content(
    state: RunState, labels: pl.DataFrame, messages: Messages | None, refit: str | None
) -> tuple[pl.DataFrame | None, dict[str, Any], KeptContent | None]:
    """Per-actor content features from the message-level content model (None if off),
    its report, and (a stream's fit) the fitted model to keep; between a stream's refits
    the kept model scores the messages."""
    cfg = state.config.content_model
    if messages is None:
        return None, {"used": False, "reason": "disabled in config (content_model.enabled)"}, None
    if messages.n == 0:
        return None, {"used": False, "reason": "no messages"}, None
    actor_keys = state.graph.nodes["actor"]["key"]
    cache = state.models
    if refit is None and cache is not None and cache.content is not None:
        scores = kept_content_scores(messages, cache.content, actor_keys, cfg)
        return actor_content_features(messages, scores), scores.report, None
    scores = content_scores(messages, labels, cfg)
    kept = None if cache is None else keep_content(messages, scores, actor_keys, cfg)
    return actor_content_features(messages, scores), scores.report, kept


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
