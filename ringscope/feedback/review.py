"""Where each cluster belongs in the queue once verdicts exist, and the review lane.

**Carried verdicts.** Verdicts are keyed by the stable cluster id (lineage keeps it
while a ring persists); a cluster with a fresh id whose linked previous clusters
(``previous_ids``: a split or merge) carry one agreed label inherits it.

**Dismissed before.** A dismissed cluster that persists is listed below the open queue
(``review_state`` ``dismissed_before``) unless it changed materially since it was
judged: it grew by ``grow_ratio`` and ``grow_min`` accounts, gained a suspended member or
an evidence layer, or one of its evidence signals (:data:`EVIDENCE_SIGNALS`: not the
model outputs of :data:`MODEL_SIGNALS`) rose by ``evidence_delta``
(:class:`~ringscope.config.FeedbackConfig`). Then it is ``reopened``, back in the open
queue at its score, with the reason.

**The review lane.** The open, unlabelled clusters whose verdict would teach the ranker
most: those closest to its decision boundary (``1 - |2p - 1|``; without a ranker, the
prior score's distance from the takedown threshold) or most unlike anything judged
(distance to the nearest judged feature vector, in units of each feature's spread,
over the median such distance). The ``teach_lane`` highest are marked with
``teach_reason``.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from ringscope.config import FeedbackConfig
from ringscope.feedback.features import RANKER_FEATURES
from ringscope.feedback.labels import ClusterLabel, Example
from ringscope.feedback.nearest import judged_matrix, nearest, spread_units
from ringscope.ranking.signals import SIGNALS

__all__ = ["EVIDENCE_SIGNALS", "MODEL_SIGNALS", "REVIEW_STATES", "review_states", "teach_lane"]

REVIEW_STATES = ("open", "reopened", "confirmed", "disputed", "dismissed_before")
#: Model outputs: ``member_risk`` (the learned actor risk) and ``content_abuse`` (the
#: supervised content model) move whenever their models retrain, and both retrain on
#: these very verdicts (dismissed members become negatives), so a rise is no new evidence.
MODEL_SIGNALS = ("member_risk", "content_abuse")
#: Signals that are observed evidence: a rise of one can reopen a dismissed cluster.
EVIDENCE_SIGNALS = tuple(s for s in SIGNALS if s not in MODEL_SIGNALS)


def _size(features: dict[str, float]) -> int:
    return round(math.expm1(features.get("log_size", 0.0)))


def _change(now: dict[str, float], then: dict[str, float], cfg: FeedbackConfig) -> str | None:
    """Why a dismissed cluster deserves a new look, or None when it is unchanged."""
    size_now, size_then = _size(now), _size(then)
    grown = size_now - size_then
    if grown >= cfg.grow_min and grown >= cfg.grow_ratio * size_then:
        return f"grew from {size_then} to {size_now} accounts"
    suspended_now = round(now.get("suspended_share", 0.0) * size_now)
    suspended_then = round(then.get("suspended_share", 0.0) * size_then)
    if suspended_now > suspended_then:
        return f"suspended members {suspended_then} -> {suspended_now}"
    layers = sorted(
        f.removeprefix("layer_")
        for f in RANKER_FEATURES
        if f.startswith("layer_") and now.get(f, 0.0) > then.get(f, 0.0)
    )
    if layers:
        return "new evidence: " + ", ".join(layers)
    for signal in EVIDENCE_SIGNALS:
        if now.get(signal, 0.0) - then.get(signal, 0.0) >= cfg.evidence_delta:
            return f"{signal} rose from {then.get(signal, 0.0):.2f} to {now.get(signal, 0.0):.2f}"
    return None


def _carried(
    cluster_id: str, previous: list[str], labels: dict[str, ClusterLabel]
) -> tuple[ClusterLabel | None, str | None]:
    if cluster_id in labels:
        return labels[cluster_id], None
    held = [labels[p] for p in previous if p in labels]
    if held and len({lab.label for lab in held}) == 1:
        return held[0], held[0].cluster_id
    return None, None


def review_states(
    features: pl.DataFrame,
    lineage: pl.DataFrame,
    labels: dict[str, ClusterLabel],
    cfg: FeedbackConfig,
) -> pl.DataFrame:
    """``cluster_id``, ``review_state``, ``review_reason``, ``carried_from`` per cluster."""
    previous = dict(lineage.select("cluster_id", "previous_ids").iter_rows())
    rows = []
    for row in features.iter_rows(named=True):
        cid = row["cluster_id"]
        label, carried_from = _carried(cid, previous.get(cid) or [], labels)
        if label is None:
            rows.append((cid, "open", None, None))
            continue
        who = ", ".join(label.investigators)
        when = label.decided_at.date().isoformat()
        if label.disputed:
            rows.append((cid, "disputed", f"verdicts disagree ({who})", carried_from))
        elif label.label == 1:
            rows.append((cid, "confirmed", f"confirmed by {who} on {when}", carried_from))
        else:
            then = label.latest.features
            change = _change(row, then, cfg) if then else None
            if change is None:
                why = f"dismissed by {who} on {when}; unchanged since"
                rows.append((cid, "dismissed_before", why, carried_from))
            else:
                why = f"dismissed by {who} on {when}, since then {change}"
                rows.append((cid, "reopened", why, carried_from))
    return pl.DataFrame(
        rows,
        schema={
            "cluster_id": pl.Utf8,
            "review_state": pl.Utf8,
            "review_reason": pl.Utf8,
            "carried_from": pl.Utf8,
        },
        orient="row",
    )


def _novelty(features: pl.DataFrame, judged: list[Example]) -> np.ndarray:
    """Distance to the nearest judged vector over the median such distance (0 if none)."""
    x = features.select(RANKER_FEATURES).to_numpy().astype(np.float64)
    if not judged or len(x) == 0:
        return np.zeros(len(x))
    xs, ss = spread_units(x, judged_matrix(judged, RANKER_FEATURES))
    distance = nearest(xs, ss, 1)[0][:, 0]
    median = float(np.median(distance)) or 1.0
    return distance / median


def teach_lane(
    features: pl.DataFrame,
    states: pl.DataFrame,
    judged: list[Example],
    learned: np.ndarray | None,
    cfg: FeedbackConfig,
    takedown_threshold: float,
) -> pl.DataFrame:
    """``cluster_id``, ``teach_value`` and ``teach_reason`` (None outside the lane)."""
    if learned is not None:
        boundary = 1.0 - np.abs(2.0 * learned - 1.0)
    else:
        prior = features["prior_score"].to_numpy()
        span = max(takedown_threshold, 1.0 - takedown_threshold)
        boundary = 1.0 - np.abs(prior - takedown_threshold) / span
    novelty = np.clip(_novelty(features, judged) / 3.0, 0.0, 1.0)  # 3x median = fully novel
    value = np.maximum(boundary, novelty)
    state = states.select("cluster_id", "review_state")
    open_ = (
        features.select("cluster_id")
        .join(state, on="cluster_id", how="left", maintain_order="left")["review_state"]
        .is_in(["open", "reopened"])
        .to_numpy()
    )
    value = np.where(open_, value, 0.0)
    order = np.argsort(-value, kind="stable")
    chosen = {int(i) for i in order[: cfg.teach_lane] if value[i] > 0}
    reasons = []
    for i in range(len(value)):
        if i not in chosen:
            reasons.append(None)
        elif boundary[i] >= novelty[i]:
            what = "the ranker" if learned is not None else "the prior score"
            reasons.append(f"near the decision boundary of {what} ({boundary[i]:.2f})")
        else:
            reasons.append(f"unlike any judged cluster (novelty {novelty[i]:.2f})")
    return pl.DataFrame(
        {
            "cluster_id": features["cluster_id"],
            "teach_value": value,
            "teach_reason": pl.Series(reasons, dtype=pl.Utf8),
        }
    )
