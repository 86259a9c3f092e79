"""How well embeddings separate ring members from everyone else (no torch needed).

Three views of one question. A linear probe (logistic regression, cross-validated) asks
whether ring membership is readable from the vector at all; nearest-neighbour purity
asks whether a ring member's closest actors are ring members too, and same-ring purity
whether they are members of *its* ring — what an investigator sees when asking for
"accounts like this one", and what places a new account next to the ring it works for.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.neighbors import NearestNeighbors

__all__ = ["ring_separation"]


def ring_separation(
    embeddings: np.ndarray,
    ring_ids: Sequence[str | None],
    *,
    k: int = 10,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """Probe AUROC and nearest-neighbour purity of ring members in an embedding space.

    Args:
        embeddings: ``[n, dim]`` vectors; compared by cosine (normalised here).
        ring_ids: per row, the ground-truth ring of the actor, or None for non-members.
        k: neighbours per ring member for the purities.
        folds: cross-validation folds of the linear probe.
        seed: fold shuffling.

    Returns:
        ``probe_auroc`` (out-of-fold logistic regression, ``C=10``), ``knn_purity`` (share
        of ring members among each ring member's ``k`` nearest others, averaged),
        ``same_ring_purity`` (share from the member's own ring), ``base_rate`` (what a
        random embedding gives for ``knn_purity``), ``n`` and ``n_ring``.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    rings = np.asarray(ring_ids, dtype=object)
    y = np.array([r is not None for r in rings])
    n_ring = int(y.sum())
    if n_ring < folds or len(y) - n_ring < folds:
        raise ValueError(f"need {folds}+ ring members and others; got {n_ring} of {len(y)}")
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probe = LogisticRegression(C=10.0, max_iter=5000, class_weight="balanced")
    scores = cross_val_predict(probe, x, y, cv=cv, method="decision_function")
    neighbours = NearestNeighbors(n_neighbors=min(k + 1, len(y))).fit(x)
    _, idx = neighbours.kneighbors(x[y])
    idx = idx[:, 1:]  # the first neighbour is the member itself
    return {
        "probe_auroc": float(roc_auc_score(y, scores)),
        "knn_purity": float(y[idx].mean()),
        "same_ring_purity": float((rings[idx] == rings[y][:, None]).mean()),
        "base_rate": n_ring / len(y),
        "n": len(y),
        "n_ring": n_ring,
    }
