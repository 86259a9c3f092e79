"""Separation metrics on embeddings whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from ringscope.embeddings.quality import ring_separation


def test_separated_rings_score_high_and_noise_scores_chance():
    rng = np.random.default_rng(0)
    rings = [None] * 400
    vectors = rng.normal(size=(400, 8))
    for i in range(40):
        ring = i % 2  # two rings of 20, each along its own axis
        rings[i] = f"ring-{ring}"
        vectors[i, ring] += 8.0
    good = ring_separation(vectors, rings, seed=0)
    assert good["probe_auroc"] > 0.95
    assert good["knn_purity"] > 0.95
    assert good["same_ring_purity"] > 0.95
    assert good["base_rate"] == pytest.approx(0.1)
    noise = ring_separation(rng.normal(size=(400, 8)), rings, seed=0)
    assert noise["probe_auroc"] < 0.75
    assert noise["knn_purity"] < 3 * noise["base_rate"]
    assert noise["same_ring_purity"] <= noise["knn_purity"]


def test_too_few_ring_members_is_an_error():
    with pytest.raises(ValueError, match="ring members"):
        ring_separation(np.ones((10, 2)), ["r"] + [None] * 9)
