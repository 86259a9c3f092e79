"""The learned cluster ranker: the prior's signals re-weighted, then boosted trees.

Two stages, both in log-odds on top of the prior score:

1. **Signal weights.** A logistic regression on the prior's own signals
   (:data:`~ringscope.ranking.signals.SIGNALS`, each in [0, 1] and built to read the
   same on any data set) with the prior score's logit as offset and non-negative
   weights: verdicts say how much more each kind of evidence should count than the
   prior's fixed weights do ("coordination alone does not make a ring, abuse does").
   A weight is a smooth slope, so it carries to the next world even where that world's
   signals sit at other levels than the judged one's.
2. **Trees.** LightGBM on :data:`~ringscope.feedback.features.LEARNED_FEATURES`,
   starting from stage 1, with monotone constraints (non-decreasing in every abuse and
   coordination signal and in the prior score,
   :data:`~ringscope.feedback.features.MONOTONE`), so a handful of dismissed newsletter
   teams can teach "many recipients who answer back is legit" but never "more suspended
   members is less abusive". Regularised for tens to thousands of labels: shallow
   trees, L2 on the leaves, a minimum leaf size that grows with the data. Their
   correction counts ``n / (n + tree_half_n)`` of itself for ``n`` examples (a
   credibility weight: half at ``tree_half_n`` verdicts, nearly all at thousands).

Why both, and why the trees count less with few verdicts: with a few dozen verdicts
from one world, trees learn thresholds that separate that world's judged clusters
exactly (one binary feature, such as "has a victims layer", can split them all) and
carry poorly to the next world, where levels differ; a weight is a slope learned from
every verdict at once and carries better (``bench/RESULTS.md``). Suspensions and reports
(:data:`~ringscope.feedback.features.PRIOR_ONLY`) reach the trees only through the
prior score and the ``labels`` signal's weight: trees that split on them learn
"reported means ring" and sink the next world's unreported rings. Classes are balanced.

Per-feature contributions are each signal's ``weight * value`` plus LightGBM's TreeSHAP
(``pred_contrib``) in log-odds: with the bias they sum to the learned logit minus the
prior's, so a reader can check why a cluster moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import polars as pl
from scipy.optimize import minimize
from scipy.special import expit

from ringscope.config import FeedbackConfig
from ringscope.feedback.features import LEARNED_FEATURES, MONOTONE, RANKER_FEATURES
from ringscope.feedback.labels import Example
from ringscope.ranking.signals import SIGNALS

__all__ = ["CONTRIBUTING", "ClusterRanker", "fit_signal_weights", "prior_logit", "train_ranker"]

#: The features a contribution is reported for, in order (bias after the last).
CONTRIBUTING: tuple[str, ...] = tuple(
    f for f in RANKER_FEATURES if f in LEARNED_FEATURES or f in SIGNALS
)
_SIGNAL_COLUMNS = [CONTRIBUTING.index(s) for s in SIGNALS]
_TREE_COLUMNS = [CONTRIBUTING.index(f) for f in LEARNED_FEATURES]


@dataclass(frozen=True)
class ClusterRanker:
    """A fitted ranker and what it learned from."""

    intercept: float
    signal_weights: dict[str, float]
    booster: lgb.Booster
    tree_share: float
    n_confirmed: int
    n_dismissed: int

    def _start(self, features: pl.DataFrame) -> np.ndarray:
        """Stage 1: the prior's logit plus the learned signal weights."""
        weights = np.array([self.signal_weights[s] for s in SIGNALS])
        return (
            prior_logit(features["prior_score"].to_numpy())
            + self.intercept
            + _signals(features) @ weights
        )

    def predict(self, features: pl.DataFrame) -> np.ndarray:
        """P(ring) of each row of a :func:`~ringscope.feedback.features.cluster_features`."""
        trees = self.booster.predict(_trees(features), raw_score=True)
        return expit(self._start(features) + self.tree_share * trees)

    def contributions(self, features: pl.DataFrame) -> np.ndarray:
        """``[n, len(CONTRIBUTING) + 1]`` log-odds corrections of the prior, bias last."""
        trees = self.tree_share * self.booster.predict(_trees(features), pred_contrib=True)
        out = np.zeros((features.height, len(CONTRIBUTING) + 1))
        out[:, _TREE_COLUMNS] = trees[:, :-1]
        weights = np.array([self.signal_weights[s] for s in SIGNALS])
        out[:, _SIGNAL_COLUMNS] += _signals(features) * weights
        out[:, -1] = trees[:, -1] + self.intercept
        return out


def _signals(features: pl.DataFrame) -> np.ndarray:
    return features.select(SIGNALS).to_numpy().astype(np.float64)


def _trees(features: pl.DataFrame) -> np.ndarray:
    return features.select(LEARNED_FEATURES).to_numpy().astype(np.float64)


def prior_logit(prior: np.ndarray) -> np.ndarray:
    """The prior score as log-odds: where both stages start from."""
    p = np.clip(prior, 0.01, 0.99)
    return np.log(p / (1.0 - p))


def fit_signal_weights(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, offset: np.ndarray, l2: float
) -> tuple[float, np.ndarray]:
    """Intercept and non-negative slopes of a weighted, L2-penalised logistic regression
    with a fixed offset (L-BFGS-B with bounds: a signal can only count more or not)."""

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, w = theta[0], theta[1:]
        z = offset + b + x @ w
        nll = np.sum(weight * (np.logaddexp(0.0, z) - y * z))  # stable log loss
        g = weight * (expit(z) - y) / weight.sum()
        value = nll / weight.sum() + 0.5 * l2 * float(w @ w)
        return value, np.concatenate([[g.sum()], x.T @ g + l2 * w])

    bounds = [(None, None)] + [(0.0, None)] * x.shape[1]
    fit = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, bounds=bounds, method="L-BFGS-B")
    return float(fit.x[0]), fit.x[1:]


def train_ranker(train: list[Example], cfg: FeedbackConfig, *, threads: int = 1) -> ClusterRanker:
    """Fit the ranker on labelled examples (both classes must be present)."""
    x = np.array([[e.features.get(f, 0.0) for f in RANKER_FEATURES] for e in train])
    signals = x[:, [RANKER_FEATURES.index(s) for s in SIGNALS]]
    y = np.array([e.label for e in train], dtype=np.float64)
    n_pos, n = int(y.sum()), len(y)
    if n_pos == 0 or n_pos == n:
        raise ValueError("the ranker needs both confirmed and dismissed clusters")
    # balanced classes: each class weighs half the data
    weight = np.where(y == 1, n / (2 * n_pos), n / (2 * (n - n_pos)))
    offset = prior_logit(x[:, RANKER_FEATURES.index("prior_score")])
    intercept, slopes = fit_signal_weights(signals, y, weight, offset, cfg.signal_l2)
    start = offset + intercept + signals @ slopes
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
        x[:, [RANKER_FEATURES.index(f) for f in LEARNED_FEATURES]],
        y,
        weight=weight,
        init_score=start,
        feature_name=list(LEARNED_FEATURES),
    )
    booster = lgb.train(params, data, num_boost_round=cfg.rounds)
    weights = dict(zip(SIGNALS, (float(w) for w in slopes), strict=True))
    share = n / (n + cfg.tree_half_n)
    return ClusterRanker(intercept, weights, booster, share, n_pos, n - n_pos)
