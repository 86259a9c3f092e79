"""Ranking: actor features, explainable cluster signals and scores, evidence."""

from ringscope.ranking.scoring import actor_risk, score_clusters
from ringscope.ranking.signals import SIGNAL_FAMILIES, SIGNALS, cluster_signals

__all__ = [
    "SIGNALS",
    "SIGNAL_FAMILIES",
    "actor_risk",
    "cluster_signals",
    "score_clusters",
]
