"""Training: seeded, bounded, learning, and embeddings that find rings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ringscope.embeddings.quality import ring_separation
from ringscope.embeddings.train import HeteroSAGEEmbedder, resolve_device


@pytest.fixture(scope="module")
def fitted(world) -> HeteroSAGEEmbedder:
    return HeteroSAGEEmbedder(epochs=15, seed=1).fit(world.data)


def test_same_seed_same_embeddings(world):
    """Equal up to float summation order, which several CPU threads may change."""
    a = HeteroSAGEEmbedder(epochs=2, seed=5).fit(world.data).embed(world.data)
    b = HeteroSAGEEmbedder(epochs=2, seed=5).fit(world.data).embed(world.data)
    c = HeteroSAGEEmbedder(epochs=2, seed=6).fit(world.data).embed(world.data)
    np.testing.assert_allclose(a["actor"], b["actor"], atol=1e-5)
    assert np.abs(a["actor"] - c["actor"]).max() > 0.01


def test_training_lowers_the_loss_and_embeds_every_node(world, fitted):
    assert fitted.epochs_ == 15
    assert fitted.losses_[-1] < fitted.losses_[0]
    z = fitted.embed(world.data)
    for t in world.data.node_types:
        assert z[t].shape == (world.data.num_nodes(t), 32)
        np.testing.assert_allclose(np.linalg.norm(z[t], axis=1), 1.0, rtol=1e-5)
    assert fitted.n_positive_labels_ > 0


def test_time_limit_stops_training(world):
    fitted = HeteroSAGEEmbedder(epochs=1000, seed=1, max_seconds=0.01).fit(world.data)
    assert fitted.stopped_by_time_
    assert fitted.epochs_ < 1000


def test_embeddings_separate_ring_members(world, fitted):
    acted = world.graph.nodes["actor"]["actor_id"].is_not_null().to_numpy()
    z = fitted.embed(world.data)["actor"][acted]
    rings = [r for r, a in zip(world.ring_ids(), acted, strict=True) if a]
    report = ring_separation(z, rings, seed=0)
    assert report["probe_auroc"] >= 0.85
    assert report["knn_purity"] >= 5 * report["base_rate"]
    assert report["same_ring_purity"] >= 0.5


def test_device_choice():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    with pytest.raises(ValueError, match="valid: cpu, auto"):
        resolve_device("tpu")
