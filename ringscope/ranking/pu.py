"""From P(labelled | x) to P(abusive | x) when only some abusers carry a label.

Elkan & Noto (KDD 2008): if labelled abusers are a random share ``c`` of all abusers,
``P(abusive | x) = P(labelled | x) / c``. Estimated probabilities above ``c`` then exceed
1, and clipping them at 1 makes every such actor tie, which throws away the ordering
among exactly the riskiest accounts. So ``p / c`` is kept up to :data:`KNEE` and above it
approaches 1 smoothly (an exponential saturation with the same slope at the knee): the
same value as ``min(p / c, 1)`` wherever that is below the knee (so thresholds such as
the takedown's 0.5 mean what they meant), and still strictly increasing in ``p``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["KNEE", "pu_adjusted"]

KNEE = 0.9


def pu_adjusted(p: np.ndarray, label_frequency: float) -> np.ndarray:
    """``p / c`` below :data:`KNEE`, saturating towards 1 above it (monotone in ``p``)."""
    c = min(max(float(label_frequency), 1e-6), 1.0)
    ratio = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0) / c
    room = 1.0 - KNEE
    over = np.maximum(ratio - KNEE, 0.0)
    return np.where(ratio <= KNEE, ratio, KNEE + room * (1.0 - np.exp(-over / room)))
