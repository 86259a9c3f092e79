"""The learned cluster ranker: gradient-boosted trees on investigators' verdicts.

LightGBM with monotone constraints (non-decreasing in every abuse and coordination
signal and in the prior score, :data:`~ringscope.feedback.features.MONOTONE`), so a
handful of dismissed newsletter teams can teach "many recipients who answer back is
legit" but never "more suspended members is less abusive". Suspensions and reports
(:data:`~ringscope.feedback.features.PRIOR_ONLY`) reach it only through the prior score:
trees that split on them learn "reported means ring" from one world's verdicts and sink
the next world's unreported rings. Regularised for tens to
thousands of labels: shallow trees, L2 on the leaves, a minimum leaf size that grows
with the data, balanced classes. Per-feature contributions are LightGBM's TreeSHAP
(``pred_contrib``) in log-odds: with the bias they sum to the learned logit, so a
reader can check why a cluster moved. On top of the trees, the nearest-judged term
(:mod:`ringscope.feedback.nearest`, ``feedback.nearest_weight``) adds the verdicts of the
judged clusters a cluster most resembles, as one more contribution (:data:`NEAREST_TERM`).
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl

from ringscope.config import FeedbackConfig
from ringscope.feedback.features import KIND_FEATURES, LEARNED_FEATURES, MONOTONE
from ringscope.feedback.labels import Example
from ringscope.feedback.nearest import NearestJudged

__all__ = ["NEAREST_TERM", "TERMS", "ClusterRanker", "train_ranker"]

#: The nearest-judged term's name among the contributions.
NEAREST_TERM = "nearest_judged"
#: What the learned logit is made of, in the order of :meth:`ClusterRanker.contributions`.
TERMS: tuple[str, ...] = (*LEARNED_FEATURES, NEAREST_TERM)


@dataclass(frozen=True)
class ClusterRanker:
    """A fitted ranker and what it learned from."""

    booster: lgb.Booster
    nearest: NearestJudged
    nearest_weight: float
    n_confirmed: int
    n_dismissed: int

    def predict(self, features: pl.DataFrame) -> np.ndarray:
        """P(ring) of each row of a :func:`~ringscope.feedback.features.cluster_features`."""
        return self.probability(features, self.contributions(features))

    def probability(self, features: pl.DataFrame, contributions: np.ndarray) -> np.ndarray:
        """P(ring) from the rows' :meth:`contributions` (computed once, used twice)."""
        raw = contributions.sum(axis=1) + prior_logit(_matrix(features))
        return 1.0 / (1.0 + np.exp(-raw))

    def contributions(self, features: pl.DataFrame) -> np.ndarray:
        """``[n, len(TERMS) + 1]`` log-odds corrections of the prior, bias last."""
        trees = self.booster.predict(_matrix(features), pred_contrib=True)
        near = self.nearest_weight * self.votes(features)
        return np.column_stack([trees[:, :-1], near, trees[:, -1]])

    def votes(self, features: pl.DataFrame) -> np.ndarray:
        """The nearest-judged vote of each row in (-1, 1) (zeros when the term is off)."""
        if self.nearest_weight == 0:
            return np.zeros(features.height)
        return self.nearest.vote(features.select(KIND_FEATURES).to_numpy().astype(np.float64))


def _matrix(features: pl.DataFrame) -> np.ndarray:
    return features.select(LEARNED_FEATURES).to_numpy().astype(np.float64)


_PRIOR = LEARNED_FEATURES.index("prior_score")


def prior_logit(x: np.ndarray) -> np.ndarray:
    """The prior score as log-odds: where the trees start from."""
    p = np.clip(x[:, _PRIOR], 0.01, 0.99)
    return np.log(p / (1.0 - p))


def train_ranker(train: list[Example], cfg: FeedbackConfig, *, threads: int = 1) -> ClusterRanker:
    """Fit the ranker on labelled examples (both classes must be present)."""
    x = np.array([[e.features.get(f, 0.0) for f in LEARNED_FEATURES] for e in train])
    y = np.array([e.label for e in train], dtype=np.float64)
    n_pos, n = int(y.sum()), len(y)
    if n_pos == 0 or n_pos == n:
        raise ValueError("the ranker needs both confirmed and dismissed clusters")
    # balanced classes: each class weighs half the data
    weight = np.where(y == 1, n / (2 * n_pos), n / (2 * (n - n_pos)))
    params = {
        "objective": "binary",
        "learning_rate": cfg.learning_rate,
        "num_leaves": cfg.num_leaves,
        "max_depth": 3,
        "min_data_in_leaf": max(cfg.min_leaf, min(50, n // 20)),
        "feature_fraction": cfg.feature_fraction,
        "feature_fraction_seed": cfg.seed,
        "min_sum_hessian_in_leaf": 1e-3,
        "min_data_in_bin": 1,
        "lambda_l2": cfg.l2,
        "monotone_constraints": [1 if f in MONOTONE else 0 for f in LEARNED_FEATURES],
        "monotone_constraints_method": "advanced",
        "feature_pre_filter": False,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": threads,
        "seed": cfg.seed,
        "verbose": -1,
    }
    data = lgb.Dataset(
        x, y, weight=weight, init_score=prior_logit(x), feature_name=list(LEARNED_FEATURES)
    )
    booster = lgb.train(params, data, num_boost_round=cfg.rounds)
    nearest = NearestJudged.fit(train, KIND_FEATURES, cfg.nearest_k)
    return ClusterRanker(booster, nearest, cfg.nearest_weight, n_pos, n - n_pos)
