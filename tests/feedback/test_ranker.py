"""The learned ranker: monotone in abuse signals, contributions that add up."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import polars as pl

from ringscope.config import FeedbackConfig
from ringscope.feedback.features import MONOTONE, RANKER_FEATURES
from ringscope.feedback.labels import Example
from ringscope.feedback.ranker import NEAREST_TERM, TERMS, train_ranker

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


def test_a_cluster_like_a_dismissed_kind_drops_and_an_unseen_kind_keeps_its_score():
    """Dismissed fan communities (many recipients per member, a victims layer) and
    confirmed rings score alike on every abuse signal: only what they are like differs."""
    rng = np.random.default_rng(4)
    train = []
    for i in range(30):
        y = i % 2
        x = dict.fromkeys(RANKER_FEATURES, 0.0) | {"prior_score": 0.3, "fanout": 0.5}
        x["log_size"] = rng.uniform(2.3, 2.8) if y else rng.uniform(3.3, 3.8)
        x["recipients_per_member"] = rng.uniform(0.5, 1.0) if y else rng.uniform(2.5, 3.0)
        x["layer_victims"] = 0.0 if y else 1.0
        train.append(Example(f"c{i}", "s", y, x, NOW))
    base = dict.fromkeys(RANKER_FEATURES, 0.0) | {"prior_score": 0.3, "fanout": 0.5}
    fans = base | {"log_size": 3.6, "recipients_per_member": 2.8, "layer_victims": 1.0}
    ring = base | {"log_size": 2.5, "recipients_per_member": 0.7}
    unseen = base | {"log_size": 7.0, "devices_per_member": 9.0, "active_days": 60.0}
    rows = frame([fans, ring, unseen])

    ranker = train_ranker(train, FeedbackConfig())
    vote = ranker.votes(rows)
    assert vote[0] < -0.3 and vote[1] > 0.3, "each looks like its judged kind"
    assert abs(vote[2]) < 0.05, "a kind nobody judged keeps its score"
    term = ranker.contributions(rows)[:, TERMS.index(NEAREST_TERM)]
    np.testing.assert_allclose(term, FeedbackConfig().nearest_weight * vote)

    off = train_ranker(train, FeedbackConfig(nearest_weight=0.0))
    assert np.all(off.votes(rows) == 0)
    p_on, p_off = ranker.predict(rows), off.predict(rows)
    assert p_on[0] < p_off[0] and p_on[1] > p_off[1]
    assert math.isclose(p_on[2], p_off[2], rel_tol=0.05)
