"""Label-source balancing of the learned risk model's fits."""

from __future__ import annotations

import polars as pl
import pytest

from ringscope.ranking.learned_risk import _source_weights


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
