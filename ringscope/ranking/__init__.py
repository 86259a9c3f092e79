"""Ranking: actor features, explainable cluster signals and scores, evidence, evaluation."""

from ringscope.ranking.evaluation import EvaluationReport, evaluate_snapshot
from ringscope.ranking.scoring import actor_risk, score_clusters
from ringscope.ranking.signals import SIGNAL_FAMILIES, SIGNALS, cluster_signals

__all__ = [
    "SIGNALS",
    "SIGNAL_FAMILIES",
    "EvaluationReport",
    "actor_risk",
    "cluster_signals",
    "evaluate_snapshot",
    "score_clusters",
]
