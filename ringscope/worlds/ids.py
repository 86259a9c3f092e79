"""Opaque, collision-free identifiers made from counters by keyed bijections.

A counter passed through an invertible mixing function gives ids that look random (no
prefix or ordering tells a ring account from a legit one) yet can never collide, which
random draws could at twenty million events.
"""

from __future__ import annotations

import numpy as np

__all__ = ["hex32", "hex64", "mix32", "mix64", "mix64_int", "uuid_like"]

_M32A = np.uint32(0x85EBCA6B)
_M32B = np.uint32(0xC2B2AE35)
_M64A = np.uint64(0xBF58476D1CE4E5B9)
_M64B = np.uint64(0x94D049BB133111EB)


def mix32(x: np.ndarray, key: int) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser of ``x ^ key``: a bijection on uint32."""
    z = np.asarray(x).astype(np.uint32) ^ np.uint32(key & 0xFFFFFFFF)
    z = z ^ (z >> np.uint32(16))
    z = z * _M32A
    z = z ^ (z >> np.uint32(13))
    z = z * _M32B
    return z ^ (z >> np.uint32(16))


def mix64(x: np.ndarray, key: int) -> np.ndarray:
    """SplitMix64's finaliser of ``x ^ key``: a bijection on uint64."""
    z = np.asarray(x).astype(np.uint64) ^ np.uint64(key & 0xFFFFFFFFFFFFFFFF)
    z = (z ^ (z >> np.uint64(30))) * _M64A
    z = (z ^ (z >> np.uint64(27))) * _M64B
    return z ^ (z >> np.uint64(31))


def mix64_int(x: int, key: int) -> int:
    """Scalar :func:`mix64` on Python ints (no array overhead for one value)."""
    z = (x ^ key) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


_MASK = (1 << 64) - 1


def hex32(values: np.ndarray) -> list[str]:
    """Eight lower-case hex digits per value."""
    return [f"{v:08x}" for v in values.tolist()]


def hex64(values: np.ndarray) -> list[str]:
    """Sixteen lower-case hex digits per value."""
    return [f"{v:016x}" for v in values.tolist()]


def uuid_like(hi: np.ndarray, lo: np.ndarray) -> list[str]:
    """Version-4-shaped UUID strings from two 64-bit words per value."""
    out = []
    for a, b in zip(hi.tolist(), lo.tolist(), strict=True):
        s = f"{a:016x}{b:016x}"
        out.append(f"{s[:8]}-{s[8:12]}-4{s[13:16]}-{'89ab'[b >> 62]}{s[17:20]}-{s[20:]}")
    return out
