"""Labels from the verdict store: which clusters and accounts are rings, which are not.

Rules (documented in the README, tested in ``tests/feedback``):

* Only ``confirmed`` (a ring: label 1) and ``dismissed`` (legit: label 0) are labels;
  ``needs_more_info`` is not, and an investigator whose latest verdict on a cluster is
  ``needs_more_info`` has withdrawn any label they gave it before.
* Each investigator's latest verdict on a cluster counts. When the investigators who
  currently hold a label on a cluster disagree, the cluster is **disputed**: it teaches
  nothing and keeps no label until one of them changes their verdict.
* Every label-bearing verdict that agrees with the cluster's label is a training
  example, with the feature vector the cluster had in the snapshot it was judged on;
  verdicts on the same cluster in the same snapshot count once. A verdict stored without
  features (recorded before feature capture) falls back to that snapshot's
  ``cluster_features.parquet``; when that snapshot is gone too, it is skipped and
  counted as ``vanished`` in the run's manifest.
* Accounts: members of a confirmed cluster are positives and members of a dismissed one
  negatives (the members the cluster had when judged), and a verdict on an account
  itself overrides both; suspensions stay positives unless an investigator dismissed
  the account or its cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ringscope.store import ActorVerdictRecord, VerdictRecord

__all__ = ["LABELS", "ClusterLabel", "Example", "actor_labels", "cluster_labels", "examples"]

#: Verdict -> label.
LABELS = {"confirmed": 1, "dismissed": 0}


@dataclass(frozen=True)
class ClusterLabel:
    """The current label of one cluster id (``label`` None when disputed)."""

    cluster_id: str
    label: int | None
    investigators: tuple[str, ...]
    decided_at: datetime
    latest: VerdictRecord
    disputed_with: tuple[str, ...] = ()

    @property
    def disputed(self) -> bool:
        """Investigators currently disagree."""
        return self.label is None


@dataclass(frozen=True)
class Example:
    """One training example: a judged cluster's features and its label."""

    cluster_id: str
    snapshot_id: str
    label: int
    features: dict[str, float]
    judged_at: datetime


@dataclass
class _Votes:
    latest_by: dict[str, VerdictRecord] = field(default_factory=dict)


def cluster_labels(verdicts: Iterable[VerdictRecord]) -> dict[str, ClusterLabel]:
    """The label of every cluster that has one (or is disputed), by cluster id."""
    votes: dict[str, _Votes] = {}
    for v in sorted(verdicts, key=lambda r: r.id):
        votes.setdefault(v.cluster_id, _Votes()).latest_by[v.investigator] = v
    out = {}
    for cluster_id, vote in votes.items():
        held = [v for v in vote.latest_by.values() if v.verdict in LABELS]
        if not held:
            continue
        latest = max(held, key=lambda r: r.id)
        kinds = {LABELS[v.verdict] for v in held}
        who = tuple(sorted(v.investigator for v in held))
        if len(kinds) == 1:
            out[cluster_id] = ClusterLabel(cluster_id, kinds.pop(), who, latest.created_at, latest)
        else:
            out[cluster_id] = ClusterLabel(
                cluster_id, None, who, latest.created_at, latest, disputed_with=who
            )
    return out


def examples(
    verdicts: Iterable[VerdictRecord],
    labels: dict[str, ClusterLabel],
    snapshot_features: Callable[[str, str], dict[str, float] | None],
) -> tuple[list[Example], int]:
    """Training examples for the ranker and how many verdicts had no features left.

    ``snapshot_features(snapshot_id, cluster_id)`` reads a stored snapshot's row (None
    when the snapshot or the cluster is gone).
    """
    chosen: dict[tuple[str, str], VerdictRecord] = {}
    for v in sorted(verdicts, key=lambda r: r.id):
        label = labels.get(v.cluster_id)
        if label is None or label.disputed or LABELS.get(v.verdict) != label.label:
            continue
        chosen[(v.cluster_id, v.snapshot_id)] = v
    out, vanished = [], 0
    for (cluster_id, snapshot_id), v in chosen.items():
        features = v.features or snapshot_features(snapshot_id, cluster_id)
        if features is None:
            vanished += 1
            continue
        out.append(Example(cluster_id, snapshot_id, LABELS[v.verdict], features, v.created_at))
    return out, vanished


def actor_labels(
    labels: dict[str, ClusterLabel], actor_verdicts: Iterable[ActorVerdictRecord]
) -> dict[str, int]:
    """Account id -> 1 (ring member) or 0 (legit), from cluster and account verdicts.

    A cluster's members are those stored with its latest label-bearing verdict; later
    verdicts win where clusters overlap.
    """
    out: dict[str, int] = {}
    for label in sorted(labels.values(), key=lambda lab: lab.latest.id):
        if label.disputed:
            continue
        for actor_id in label.latest.actor_ids:
            out[actor_id] = label.label
    latest: dict[str, ActorVerdictRecord] = {}
    for v in sorted(actor_verdicts, key=lambda r: r.id):
        latest[v.actor_id] = v
    for actor_id, v in latest.items():
        if v.verdict in LABELS:
            out[actor_id] = LABELS[v.verdict]
        else:
            out.pop(actor_id, None)
    return out
