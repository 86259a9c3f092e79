"""Keyed hashing of many distinct values on all cores.

HMAC in the standard library costs about a microsecond per value and holds the GIL, so
a large batch is split in two: a forked worker process hashes one part while this
process hashes the other. The parts are joined in order, so the result does not
depend on how the work was split.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import polars as pl
import pyarrow as pa

from ringscope.privacy import HASH_HEX_LEN, Keyring

__all__ = ["hash_distinct"]

#: Fewer values than this are hashed here (forking costs more than it saves).
PARALLEL_MIN = 200_000
_WIDTH = HASH_HEX_LEN // 2

# What the forked worker hashes; set right before the fork, so nothing is pickled.
_WORK: tuple[Keyring, str, list[str]] | None = None


def _hash_part(start: int, stop: int) -> bytes:
    assert _WORK is not None
    keyring, kind, values = _WORK
    return keyring.hash_digests(kind, values[start:stop])


def _can_fork() -> bool:
    return (os.cpu_count() or 1) > 1 and "fork" in multiprocessing.get_all_start_methods()


def hash_distinct(keyring: Keyring, kind: str, values: pl.Series) -> pl.Series:
    """Pseudonyms (hex text, as :meth:`Keyring.hash`) of a column of non-null strings."""
    global _WORK
    items = values.to_list()
    n = len(items)
    if n < PARALLEL_MIN or not _can_fork():
        blob = keyring.hash_digests(kind, items)
    else:
        split = n // 2
        _WORK = (keyring, kind, items)
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                tail = pool.submit(_hash_part, split, n)
                head = keyring.hash_digests(kind, items[:split])
                blob = head + tail.result()
        finally:
            _WORK = None
    digests = pa.Array.from_buffers(pa.binary(_WIDTH), n, [None, pa.py_buffer(blob)])
    hexed = pl.Series(values.name, digests).bin.encode("hex")
    return hexed
