"""Buffered random draws for the per-record Python loops of the generator.

Calling a numpy ``Generator`` once per word costs microseconds; drawing a block of
uniforms at once and handing them out one by one costs a fraction of that and stays
fully determined by the Generator it wraps.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

__all__ = ["Dice", "HashDice", "cdf_list", "zipf_weights"]

T = TypeVar("T")

_BLOCK = 65536


def cdf_list(weights: Sequence[float] | np.ndarray) -> list[float]:
    """A cumulative distribution as a Python list (fast for scalar bisection), ending at 1."""
    w = np.asarray(weights, dtype=np.float64)
    c = np.cumsum(w / w.sum())
    c[-1] = 1.0
    return c.tolist()


def zipf_weights(n: int, *, exponent: float = 1.0) -> np.ndarray:
    """Normalised Zipf weights for ranks 1..n: rank r gets weight r**-exponent."""
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    return w / w.sum()


class Dice:
    """Scalar draws served from blocks of uniforms of one numpy Generator."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._buf: list[float] = []
        self._pos = 0
        self._block = 256  # grows to _BLOCK, so short-lived dice stay cheap

    def _refill(self, n: int) -> None:
        self._block = min(_BLOCK, self._block * 4)
        self._buf = self._buf[self._pos :] + self.rng.random(max(self._block, n)).tolist()
        self._pos = 0

    def random(self) -> float:
        """One uniform draw in [0, 1)."""
        if self._pos >= len(self._buf):
            self._refill(1)
        v = self._buf[self._pos]
        self._pos += 1
        return v

    def take(self, n: int) -> list[float]:
        """n uniform draws in [0, 1) at once (one call instead of n)."""
        if self._pos + n > len(self._buf):
            self._refill(n)
        out = self._buf[self._pos : self._pos + n]
        self._pos += n
        return out

    def below(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        return int(self.random() * n)

    def between(self, lo: int, hi: int) -> int:
        """A uniform integer in [lo, hi] (both ends included)."""
        return lo + int(self.random() * (hi - lo + 1))

    def choice(self, items: Sequence[T]) -> T:
        """A uniformly chosen element."""
        return items[int(self.random() * len(items))]

    def chance(self, p: float) -> bool:
        """True with probability p."""
        return self.random() < p

    def weighted(self, cdf: Sequence[float]) -> int:
        """An index drawn from a cumulative distribution given as a list (last entry 1.0)."""
        return min(bisect_right(cdf, self.random()), len(cdf) - 1)

    def digits(self, n: int) -> str:
        """A string of n random decimal digits."""
        return "".join("0123456789"[self.below(10)] for _ in range(n))

    def code(self, n: int) -> str:
        """A short alphanumeric code such as a promo or tracking code."""
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        return "".join(alphabet[self.below(len(alphabet))] for _ in range(n))


class HashDice(Dice):
    """Dice driven by SplitMix64 from an integer key: cheap and deterministic per key.

    Used where a value must be reproducible from a key alone (an off-platform contact's
    address), without the cost of building a numpy Generator per key.
    """

    def __init__(self, key: int) -> None:
        self._state = key & _MASK64
        self._buf = []
        self._pos = 0

    def take(self, n: int) -> list[float]:
        """n uniform draws in [0, 1)."""
        return [self.random() for _ in range(n)]

    def random(self) -> float:
        """One uniform draw in [0, 1) from the next SplitMix64 output."""
        self._state = (self._state + 0x9E3779B97F4A7C15) & _MASK64
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        z ^= z >> 31
        return (z >> 11) * _INV53


_MASK64 = (1 << 64) - 1
_INV53 = 1.0 / (1 << 53)
