"""From P(labelled | x) to P(abusive | x) when only some abusers carry a label.

Elkan & Noto (KDD 2008): if labelled abusers are a random share ``c`` of all abusers,
``P(abusive | x) = P(labelled | x) / c``. Estimated probabilities above ``c`` then exceed
1, and clipping them makes every such actor tie at 1, which throws away the ordering
among exactly the riskiest accounts. So the correction is applied to the odds instead,
``odds(abusive) = odds(labelled) / c``, which agrees with ``p / c`` for small ``p``,
stays below 1 and keeps the order of ``p``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pu_adjusted"]


def pu_adjusted(p: np.ndarray, label_frequency: float) -> np.ndarray:
    """``p / (p + (1 - p) * c)``: the labelled-odds divided by ``c``, as a probability."""
    c = min(max(float(label_frequency), 1e-6), 1.0)
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    return p / np.maximum(p + (1.0 - p) * c, 1e-12)
