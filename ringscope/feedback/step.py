"""Pipeline steps that bring the verdict store into a run.

``verdicts`` (before ranking) reads the store the run publishes next to: the URL given
(``ringscope run --database-url`` or ``RINGSCOPE_DATABASE_URL``), else the SQLite file
``ringscope serve`` uses by default (``<out>/ringscope.sqlite3``) when it exists; a run
never creates a store. Its account labels feed the actor risk model.

``feedback`` (after lineage, so verdicts meet clusters under their stable ids) stores
every cluster's feature vector, trains the ranker when the store holds enough verdicts
of both kinds, blends it with the prior score, places dismissed clusters and marks the
review lane, then re-ranks. Without enough verdicts the prior score ranks unchanged.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from sqlalchemy.engine import make_url

from ringscope.feedback.features import FEATURES_TABLE, LEARNED_FEATURES, cluster_features
from ringscope.feedback.labels import ClusterLabel, actor_labels, cluster_labels, examples
from ringscope.feedback.ranker import TERMS, train_ranker
from ringscope.feedback.review import review_states, teach_lane
from ringscope.ranking.lineage import LINEAGE_TABLE
from ringscope.store import ActorVerdictRecord, VerdictRecord, open_store

if TYPE_CHECKING:
    from ringscope.run_state import RunState

__all__ = [
    "CONTRIBUTIONS_TABLE",
    "Feedback",
    "feedback_step",
    "load_feedback",
    "store_url_for",
    "verdicts_step",
]

log = logging.getLogger(__name__)

CONTRIBUTIONS_TABLE = "ranker_contributions"
DATABASE_FILE = "ringscope.sqlite3"


@dataclass
class Feedback:
    """What the store holds, read once per run."""

    source: str | None = None
    verdicts: list[VerdictRecord] = field(default_factory=list)
    actor_verdicts: list[ActorVerdictRecord] = field(default_factory=list)

    @property
    def labels(self) -> dict[str, ClusterLabel]:
        """Current cluster labels."""
        return cluster_labels(self.verdicts)

    @property
    def actor_labels(self) -> dict[str, int]:
        """Account labels for the risk model."""
        return actor_labels(self.labels, self.actor_verdicts)


def store_url_for(out_root: Path, database_url: str | None) -> str | None:
    """The store a run into ``out_root`` reads (None: there is none yet)."""
    if database_url:
        return database_url
    path = Path(out_root) / DATABASE_FILE
    return f"sqlite:///{path.resolve()}" if path.exists() else None


def load_feedback(out_root: Path, database_url: str | None) -> Feedback:
    """Every verdict of the run's store (empty when the root has no store)."""
    url = store_url_for(out_root, database_url)
    if url is None:
        return Feedback()
    store = open_store(url)
    try:
        backend = make_url(url).get_backend_name()
        return Feedback(backend, store.all_verdicts(), store.actor_verdicts())
    finally:
        store.close()


def verdicts_step(state: RunState) -> dict[str, Any]:
    """Pipeline step ``verdicts``: read the verdict store into ``state.feedback``."""
    state.feedback = load_feedback(state.out_root, state.database_url)
    fb = state.feedback
    labels = fb.labels.values()
    return {
        "store": fb.source,
        "verdicts": len(fb.verdicts),
        "actor_verdicts": len(fb.actor_verdicts),
        "confirmed": sum(lab.label == 1 for lab in labels),
        "dismissed": sum(lab.label == 0 for lab in labels),
        "disputed": sum(lab.disputed for lab in labels),
    }


def _snapshot_reader(out_root: Path):
    @cache
    def table(snapshot_id: str) -> dict[str, dict[str, float]] | None:
        path = out_root / snapshot_id / f"{FEATURES_TABLE}.parquet"
        if not path.exists():
            return None
        df = pl.read_parquet(path)
        return {r["cluster_id"]: r for r in df.iter_rows(named=True)}

    def read(snapshot_id: str, cluster_id: str) -> dict[str, float] | None:
        rows = table(snapshot_id)
        return None if rows is None else rows.get(cluster_id)

    return read


def _contributions(
    ids: pl.Series, features: pl.DataFrame, contrib: np.ndarray, nearest_weight: float
) -> pl.DataFrame:
    """One row per cluster and term; the nearest-judged term's value is its vote."""
    n, f = len(ids), len(LEARNED_FEATURES)
    vote = contrib[:, f] / nearest_weight if nearest_weight else np.zeros(n)
    values = np.column_stack([features.select(LEARNED_FEATURES).to_numpy(), vote])
    table = pl.DataFrame(
        {
            "cluster_id": np.repeat(ids.to_numpy(), len(TERMS)),
            "feature": np.tile(np.array(TERMS), n),
            "value": values.reshape(-1),
            "contribution": contrib[:, : len(TERMS)].reshape(-1),
        }
    )
    return table.filter(pl.col("contribution").abs() > 1e-9)


def apply_feedback(
    clusters: pl.DataFrame,
    lineage: pl.DataFrame,
    feedback: Feedback,
    state: RunState,
) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """The re-ranked clusters, the feature and contribution tables, and the counts."""
    cfg = state.config.feedback
    features = cluster_features(clusters)
    labels = feedback.labels
    train, vanished = examples(feedback.verdicts, labels, _snapshot_reader(state.out_root))
    n_pos = sum(e.label for e in train)
    n_neg = len(train) - n_pos
    report: dict[str, Any] = {"examples": len(train), "vanished": vanished}
    learned = contrib = None
    if not cfg.enabled:
        report["ranker"] = "disabled in config (feedback.enabled)"
    elif n_pos < cfg.min_confirmed or n_neg < cfg.min_dismissed:
        report["ranker"] = (
            f"not used: {n_pos} confirmed and {n_neg} dismissed examples, fewer than "
            f"feedback.min_confirmed ({cfg.min_confirmed}) / min_dismissed ({cfg.min_dismissed})"
        )
    else:
        t0 = time.perf_counter()
        ranker = train_ranker(train, cfg)
        report["train_seconds"] = round(time.perf_counter() - t0, 3)
        contrib = ranker.contributions(features)
        learned = ranker.probability(features, contrib)
        report |= {"ranker": "used", "blend": cfg.blend, "confirmed": n_pos, "dismissed": n_neg}
    states = review_states(features, lineage, labels, cfg)
    lane = teach_lane(
        features, states, train, learned, cfg, state.config.scoring.takedown_threshold
    )
    weight = cfg.blend if learned is not None else 0.0
    scored = clusters.rename({"score": "prior_score"}).with_columns(
        pl.Series("learned_score", learned, dtype=pl.Float64)
        if learned is not None
        else pl.lit(None, dtype=pl.Float64).alias("learned_score"),
        pl.Series("learned_bias", contrib[:, -1], dtype=pl.Float64)
        if contrib is not None
        else pl.lit(None, dtype=pl.Float64).alias("learned_bias"),
        pl.lit(weight).alias("learned_weight"),
    )
    blended = (1.0 - weight) * pl.col("prior_score") + weight * pl.col("learned_score").fill_null(
        0.0
    )
    scored = (
        scored.with_columns(blended.clip(0.0, 1.0).alias("score"))
        .join(states, on="cluster_id", how="left")
        .join(lane, on="cluster_id", how="left")
        .with_columns((pl.col("review_state") == "dismissed_before").alias("_below"))
        .sort(["_below", "score", "size", "cluster_id"], descending=[False, True, True, False])
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"))
        .drop("_below")
    )
    order = ["cluster_id", "rank", "score", "size", "summary"]
    tables = {
        "clusters": scored.select(*order, pl.exclude(order)),
        FEATURES_TABLE: features,
    }
    if contrib is not None:
        tables[CONTRIBUTIONS_TABLE] = _contributions(
            features["cluster_id"], features, contrib, cfg.nearest_weight
        )
    counts = states.group_by("review_state").agg(pl.len()).iter_rows()
    report["review_states"] = dict(sorted(counts))
    report["lane"] = int(lane["teach_reason"].is_not_null().sum())
    return tables, report


def feedback_step(state: RunState) -> dict[str, Any]:
    """Pipeline step ``feedback``: rerank ``state.tables['clusters']`` with the verdicts."""
    feedback = state.feedback if state.feedback is not None else Feedback()
    tables, report = apply_feedback(
        state.tables["clusters"], state.tables[LINEAGE_TABLE], feedback, state
    )
    state.tables |= tables
    return report
