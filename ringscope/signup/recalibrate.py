"""Reviewers' outcomes recalibrate the signup check, with a floor of prior knowledge.

Each recorded outcome (``offender`` or ``legit``) keeps what the uncalibrated check saw:
its risk and the evidence (nats) of each key kind that counted for the best-matching
offender. The calibrated check is::

    logit(risk') = logit(risk) + shift + sum over kinds k of (scale[k] - 1) * evidence[k]

so ``scale[k]`` is a learned multiplier on the likelihood ratio of key kind ``k`` (1: as
configured) and ``shift`` moves the prior. Both are fitted by penalised logistic
regression on the outcomes: the penalty ``SCALE_PENALTY * Σ log(scale)² / 2`` pulls
them towards the configured model, and ``scale`` stays within
``[1 / max_scale, max_scale]``, so a handful of outcomes cannot erase what the
configuration knows. The prior itself (``shift``) stays as configured: reviewed
outcomes are a sample enriched in offenders. A tier threshold rises when more than its
target share of legit outcomes would reach it (review 5%, block 1%), averaged with the
configured threshold weighed as ``PRIOR_STRENGTH`` outcomes; it never falls below the
configured one.

Calibration is reported before and after as Brier score and expected calibration error
(ten bins); "after" is cross-validated (five folds: each outcome scored by a fit that
did not see it), so it does not flatter the fit.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize
from sqlalchemy.exc import SQLAlchemyError

from ringscope.config import SignupConfig
from ringscope.signup.check import FAMILY, SignupChecker
from ringscope.store import SignupOutcomeRecord, Store

log = logging.getLogger(__name__)

__all__ = ["Calibration", "calibration_report", "fit_calibration", "recalibrate"]

KINDS = tuple(FAMILY)
PRIOR_STRENGTH = 20.0  # the configured thresholds weigh as this many outcomes
SCALE_PENALTY = 4.0  # L2 on the log scales: the configured weights' pull
MAX_SCALE = 4.0
TARGET_FPR = {"block": 0.01, "review": 0.05}


@dataclass(frozen=True)
class Calibration:
    """A fitted recalibration of the check (identity when nothing was learned)."""

    shift: float = 0.0
    scales: dict[str, float] = field(default_factory=dict)
    review: float | None = None
    block: float | None = None
    n_outcomes: int = 0

    def scale(self, kind: str) -> float:
        """The multiplier on key kind ``kind``'s evidence."""
        return self.scales.get(kind, 1.0)

    def risk(self, risk: float, evidence: dict[str, float]) -> float:
        """The calibrated risk of an uncalibrated risk and its counted evidence."""
        logit = _logit(risk) + self.shift
        logit += sum((self.scale(k) - 1.0) * e for k, e in evidence.items())
        return 1.0 / (1.0 + math.exp(-logit))

    def to_json(self) -> dict[str, Any]:
        """For the API, the CLI and the manifest."""
        return {
            "n_outcomes": self.n_outcomes,
            "shift": round(self.shift, 4),
            "scales": {k: round(v, 4) for k, v in sorted(self.scales.items())},
            "review": self.review,
            "block": self.block,
        }


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _design(outcomes: Sequence[SignupOutcomeRecord]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    base = np.array([_logit(o.risk) for o in outcomes])
    ev = np.array([[o.evidence.get(k, 0.0) for k in KINDS] for o in outcomes]).reshape(
        -1, len(KINDS)
    )
    y = np.array([o.outcome == "offender" for o in outcomes], dtype=np.float64)
    return base, ev, y


def _fit_params(base: np.ndarray, ev: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(shift, log scale per kind) minimising penalised log loss."""
    used = (ev > 0).any(axis=0)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        shift, log_s = theta[0], theta[1:]
        z = base + shift + ev @ (np.exp(log_s) - 1.0)
        p = 1.0 / (1.0 + np.exp(-z))
        eps = 1e-12
        nll = -np.sum(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))
        penalty = SCALE_PENALTY * (shift**2 + np.sum(log_s**2)) / 2
        r = p - y
        grad = np.concatenate([[r.sum()], (ev * r[:, None]).sum(axis=0) * np.exp(log_s)])
        grad += SCALE_PENALTY * theta
        return float(nll + penalty), grad

    bound = math.log(MAX_SCALE)
    # the shift stays 0: reviewed outcomes are a sample enriched in offenders, so their
    # base rate says nothing about the share of offenders among all signups
    bounds = [(0.0, 0.0)] + [(-bound, bound) if u else (0.0, 0.0) for u in used]
    start = np.zeros(1 + len(KINDS))
    return minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds).x


def _apply(theta: np.ndarray, base: np.ndarray, ev: np.ndarray) -> np.ndarray:
    z = base + theta[0] + ev @ (np.exp(theta[1:]) - 1.0)
    return 1.0 / (1.0 + np.exp(-z))


def _fpr_floor(legit: np.ndarray, fpr: float) -> float:
    """The lowest threshold that keeps the share of legit outcomes at or above it
    within ``fpr`` (0 without legit outcomes)."""
    allowed = math.floor(fpr * len(legit))
    ordered = np.sort(legit)[::-1]
    return float(ordered[allowed]) + 1e-4 if allowed < len(legit) else 0.0


def _towards(data: float, configured: float, n: int) -> float:
    """``data`` averaged with the configured threshold, worth ``PRIOR_STRENGTH`` outcomes."""
    return round((n * min(data, 0.999) + PRIOR_STRENGTH * configured) / (n + PRIOR_STRENGTH), 4)


def _thresholds(risk: np.ndarray, y: np.ndarray, config: SignupConfig) -> tuple[float, float]:
    """Each threshold rises when more legit outcomes than its target rate (review 5%,
    block 1%) would reach it; none falls below the configured one (missed offenders are
    caught by the key-kind scales, not by flagging everyone a little more)."""
    legit = risk[y == 0]
    review_data = max(_fpr_floor(legit, TARGET_FPR["review"]), config.review)
    block_data = max(_fpr_floor(legit, TARGET_FPR["block"]), config.block)
    n = len(y)
    review = _towards(review_data, config.review, n)
    return review, max(_towards(block_data, config.block, n), review)


def fit_calibration(outcomes: Sequence[SignupOutcomeRecord], config: SignupConfig) -> Calibration:
    """The recalibration learned from every recorded outcome (identity when none)."""
    if not outcomes:
        return Calibration()
    base, ev, y = _design(outcomes)
    theta = _fit_params(base, ev, y)
    risk = _apply(theta, base, ev)
    review, block = _thresholds(risk, y, config)
    scales = {k: float(math.exp(t)) for k, t in zip(KINDS, theta[1:], strict=True) if t != 0.0}
    return Calibration(float(theta[0]), scales, review, block, len(outcomes))


def _calibration(risk: np.ndarray, y: np.ndarray, bins: int = 10) -> dict[str, float]:
    which = np.minimum((risk * bins).astype(int), bins - 1)
    ece = sum(
        (which == b).mean() * abs(risk[which == b].mean() - y[which == b].mean())
        for b in range(bins)
        if (which == b).any()
    )
    return {"brier": round(float(np.mean((risk - y) ** 2)), 4), "ece": round(float(ece), 4)}


def calibration_report(outcomes: Sequence[SignupOutcomeRecord], folds: int = 5) -> dict[str, Any]:
    """Brier and ECE of the outcomes' risks before and after recalibration (cross-fitted)."""
    if not outcomes:
        return {"n_outcomes": 0}
    base, ev, y = _design(outcomes)
    before = 1.0 / (1.0 + np.exp(-base))
    after = np.empty_like(before)
    index = np.arange(len(y))
    for k in range(min(folds, len(y))):
        test = index % min(folds, len(y)) == k
        train = ~test
        theta = (
            _fit_params(base[train], ev[train], y[train])
            if train.any()
            else np.zeros(1 + len(KINDS))
        )
        after[test] = _apply(theta, base[test], ev[test])
    return {
        "n_outcomes": len(y),
        "offenders": int(y.sum()),
        "before": _calibration(before, y),
        "after_cross_fitted": _calibration(after, y),
    }


def recalibrate(checker: SignupChecker, store: Store) -> bool:
    """Refit ``checker.calibration`` when the store holds new outcomes; True if it did.

    A store that cannot be read leaves the checker as it is: the check must never
    depend on the verdict store being up.
    """
    try:
        outcomes = store.signup_outcomes()
    except SQLAlchemyError as exc:
        log.warning("signup check: outcomes unavailable (%s)", type(exc).__name__)
        return False
    known = checker.calibration.n_outcomes if checker.calibration else 0
    if len(outcomes) == known:
        return False
    checker.calibration = fit_calibration(outcomes, checker.config)
    return True
