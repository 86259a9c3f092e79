"""The learned ranker: monotone in abuse signals, contributions that add up."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from ringscope.config import FeedbackConfig
from ringscope.feedback.features import MONOTONE, RANKER_FEATURES
from ringscope.feedback.labels import Example
from ringscope.feedback.ranker import train_ranker

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def training_set(n: int, seed: int = 0) -> list[Example]:
    """Rings: high fanout; legit look-alikes: high prior score but answered mail."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        y = i % 2
        x = dict.fromkeys(RANKER_FEATURES, 0.0)
        x["fanout"] = rng.uniform(0.5, 1.0) if y else rng.uniform(0.0, 0.3)
        x["prior_score"] = rng.uniform(0.2, 0.4)
        x["messages_per_member"] = rng.uniform(0, 3)
        out.append(Example(f"c{i}", "s", y, x, NOW))
    return out


def frame(rows: list[dict[str, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows).select(RANKER_FEATURES)


def test_learns_from_a_few_dozen_verdicts_and_is_monotone_in_abuse_signals():
    ranker = train_ranker(training_set(40), FeedbackConfig())
    base = dict.fromkeys(RANKER_FEATURES, 0.0) | {"prior_score": 0.3, "messages_per_member": 1.0}
    low, high = base | {"fanout": 0.1}, base | {"fanout": 0.9}
    p_low, p_high = ranker.predict(frame([low, high]))
    assert p_high > p_low + 0.2, "fanout separates the verdicts"
    grid = np.linspace(0, 1, 11)
    for feature in MONOTONE:
        p = ranker.predict(frame([base | {feature: v} for v in grid]))
        assert np.all(np.diff(p) >= -1e-12), f"not non-decreasing in {feature}"


def test_contributions_and_prior_add_up_to_the_learned_logit():
    ranker = train_ranker(training_set(60, seed=1), FeedbackConfig())
    rows = frame([e.features for e in training_set(10, seed=2)])
    p = ranker.predict(rows)
    contrib = ranker.contributions(rows)
    prior = np.clip(rows["prior_score"].to_numpy(), 0.01, 0.99)
    logit = np.log(p / (1 - p))
    np.testing.assert_allclose(contrib.sum(axis=1) + np.log(prior / (1 - prior)), logit, atol=1e-6)


def test_reports_and_suspensions_reach_the_ranker_only_through_the_prior():
    """Verdicts where every ring was reported must not teach "unreported means legit"."""
    train = training_set(40, seed=3)
    for e in train:
        e.features["reported_share"] = 0.8 if e.label else 0.0
        e.features["suspended_share"] = 0.5 if e.label else 0.0
    ranker = train_ranker(train, FeedbackConfig())
    base = dict.fromkeys(RANKER_FEATURES, 0.0) | {"prior_score": 0.3, "fanout": 0.8}
    unreported, reported = base, base | {"reported_share": 0.8, "suspended_share": 0.5}
    p_unreported, p_reported = ranker.predict(frame([unreported, reported]))
    assert p_unreported == p_reported
    assert p_unreported > 0.5, "fanout still marks the unreported ring"
