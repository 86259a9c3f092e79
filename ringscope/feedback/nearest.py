"""Looks like a judged kind: the verdicts of a cluster's nearest judged clusters.

The trees learn thresholds on single features; a fan community or a marketing agency
that resembles one an investigator dismissed may still sit on the ring side of every
threshold. This term asks instead "which judged clusters is this one like?": its
``k`` nearest judged clusters in the space of :data:`~ringscope.feedback.features.KIND_FEATURES`
(what a cluster is like: size, messages, recipients, devices and IPs per member, its
evidence layers; not the abuse signals, so the ranker stays non-decreasing in those),
each feature in units of its spread over the clusters at hand and the judged ones. Each
neighbour votes +1 (confirmed) or -1 (dismissed), weighted by class balance and by
``exp(-d² / 2h²)``, ``h`` the median distance from a judged cluster to its nearest other
judged cluster (measured on at most 1,000 of them: the bandwidth follows the data, no
unit to tune). The vote is ``sum(w * v) / (sum(w) + 1)`` in (-1, 1): near 0 for a
cluster unlike anything judged, so a kind nobody has judged gets no push from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ringscope.feedback.labels import Example

__all__ = ["NearestJudged", "judged_matrix", "nearest", "spread_units"]

_CELLS = 4_000_000  # distances held at once: bounded memory for thousands of verdicts
_BANDWIDTH_SAMPLE = 1000  # judged clusters the bandwidth is measured from


def judged_matrix(judged: Sequence[Example], columns: Sequence[str]) -> np.ndarray:
    """The judged clusters' feature vectors, one row each (missing features are 0)."""
    return np.array([[e.features.get(f, 0.0) for f in columns] for e in judged], dtype=np.float64)


def spread_units(x: np.ndarray, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both matrices in units of each column's spread over their union (constant: 1)."""
    spread = np.vstack([x, seen]).std(axis=0)
    spread[spread == 0] = 1.0
    return x / spread, seen / spread


def nearest(x: np.ndarray, seen: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Distances ``[n, k]`` (ascending) and row indices into ``seen`` of each row's
    ``k`` nearest rows of ``seen`` (fewer columns when ``seen`` has fewer rows)."""
    k = min(k, len(seen))
    dist = np.empty((len(x), k))
    index = np.empty((len(x), k), dtype=np.int64)
    seen2 = (seen**2).sum(axis=1)[None, :]
    rows = max(1, _CELLS // max(1, len(seen)))
    for start in range(0, len(x), rows):
        q = x[start : start + rows]
        d = np.maximum((q**2).sum(axis=1)[:, None] + seen2 - 2.0 * q @ seen.T, 0.0)
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        part_d = np.take_along_axis(d, part, axis=1)
        order = np.argsort(part_d, axis=1, kind="stable")
        dist[start : start + len(q)] = np.sqrt(np.take_along_axis(part_d, order, axis=1))
        index[start : start + len(q)] = np.take_along_axis(part, order, axis=1)
    return dist, index


@dataclass(frozen=True)
class NearestJudged:
    """The judged clusters a vote is taken from."""

    seen: np.ndarray
    labels: np.ndarray
    k: int

    @classmethod
    def fit(cls, judged: Sequence[Example], columns: Sequence[str], k: int) -> NearestJudged:
        """Keep the judged vectors over ``columns`` and their labels."""
        labels = np.array([e.label for e in judged], dtype=np.float64)
        return cls(judged_matrix(judged, columns), labels, k)

    def vote(self, x: np.ndarray) -> np.ndarray:
        """Each row's similarity-weighted verdict of its nearest judged clusters, in (-1, 1)."""
        if len(x) == 0:
            return np.zeros(0)
        xs, ss = spread_units(x, self.seen)
        dist, idx = nearest(xs, ss, self.k)
        sample = ss[:: max(1, len(ss) // _BANDWIDTH_SAMPLE)]
        self_d, _ = nearest(sample, ss, 2)  # column 0 is the judged cluster itself
        others = self_d[:, -1][self_d[:, -1] > 0]
        h = float(np.median(others)) if len(others) else 1.0
        y = self.labels
        n, n_pos = len(y), y.sum()
        balance = np.where(y == 1, n / (2 * n_pos), n / (2 * (n - n_pos)))
        w = np.exp(-0.5 * (dist / h) ** 2) * balance[idx]
        return (w * (2.0 * y[idx] - 1.0)).sum(axis=1) / (w.sum(axis=1) + 1.0)
