"""Label-source balancing of the learned risk model's fits; the content anchor's calibration."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from ringscope.ranking.learned_risk import _pooled_anchor, _source_weights


def test_each_label_source_carries_the_same_total_weight():
    given = pl.DataFrame(
        {
            "actor": [0, 1, 2, 3, 4, 5, 6],
            "label": [True, True, True, True, None, False, True],
            "source": ["reports", "reports", "reports", "suspension", None, "verdict", "verdict"],
        }
    )
    weight = _source_weights(given)
    positive = given["label"].fill_null(False).to_numpy()
    by_source = {
        source: weight[given["source"].eq(source).fill_null(False).to_numpy() & positive].sum()
        for source in ("reports", "suspension", "verdict")
    }
    assert by_source == pytest.approx({"reports": 5 / 3, "suspension": 5 / 3, "verdict": 5 / 3})
    assert weight[positive].sum() == pytest.approx(positive.sum())
    assert weight[~positive].tolist() == [1.0, 1.0]  # unlabelled and legit keep weight 1


def test_one_source_needs_no_weights():
    given = pl.DataFrame(
        {
            "actor": [0, 1, 2],
            "label": [True, None, True],
            "source": ["suspension", None, "suspension"],
        }
    )
    assert _source_weights(given) is None


def test_anchor_calibration_is_one_map_for_every_fold():
    # out-of-fold anchored log-odds of two folds on different scales: one map keeps the
    # pooled order (per-fold maps fitted on each fold's few labels would reorder them)
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.3).astype(np.int64)
    blend = (rng.normal(size=400) + 1.5 * y).reshape(-1, 1)
    blend[:200] *= 0.5
    risk, platt, freq = _pooled_anchor(blend, y, pu_adjust=True)
    order = np.argsort(blend[:, 0], kind="stable")
    assert np.all(np.diff(risk[order]) >= 0)
    assert platt.coef_[0, 0] > 0
    assert 0.0 < freq < 1.0
    plain, _, one = _pooled_anchor(blend, y, pu_adjust=False)
    assert one == 1.0 and np.all(risk >= plain - 1e-12)  # PU adjustment only lifts


def test_label_frequency_weighs_each_label_source_as_the_fits_do():
    # reported abusers are all labelled (their reports are a feature: the score knows
    # them), suspended ones are a quarter of their kind; reports outnumber suspensions
    rng = np.random.default_rng(1)
    kind = np.array(["legit"] * 2000 + ["reported"] * 60 + ["suspendable"] * 80)
    y = np.zeros(kind.size, dtype=np.int64)
    y[kind == "reported"] = 1
    y[np.flatnonzero(kind == "suspendable")[::4]] = 1
    centre = {"legit": -3.0, "reported": 4.0, "suspendable": 1.0}
    blend = np.array([centre[k] for k in kind]) + rng.normal(scale=0.3, size=kind.size)
    source = np.where(kind == "reported", "reports", "suspension")
    given = pl.DataFrame({"label": y == 1, "source": source}).with_columns(
        pl.when(pl.col("label")).then(pl.col(c)).alias(c) for c in ("label", "source")
    )
    weight = _source_weights(given)
    risk, _, freq = _pooled_anchor(blend.reshape(-1, 1), y, pu_adjust=True, weight=weight)
    plain, _, plain_freq = _pooled_anchor(blend.reshape(-1, 1), y, pu_adjust=True)
    assert freq < plain_freq  # the plentiful, fully labelled source no longer sets c alone
    # the unlabelled three quarters of the suspendable kind: under the takedown threshold
    # when the reports set c, over it when each source weighs the same
    hidden = (kind == "suspendable") & (y == 0)
    assert np.median(plain[hidden]) < 0.5 <= np.median(risk[hidden])
    assert (risk[kind == "legit"] < 0.5).all()
