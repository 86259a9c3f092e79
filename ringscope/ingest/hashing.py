"""Keyed hashing of many distinct values on all cores.

Keyed hashing in the standard library costs about half a microsecond per value and holds the GIL, so
a large batch is split in two: a forked worker process hashes one part while this
process hashes the other. The parts are joined in order, so the result does not
depend on how the work was split.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor

import polars as pl
import pyarrow as pa

from ringscope.lifetime import parent_watch
from ringscope.privacy import HASH_HEX_LEN, Keyring

__all__ = ["BackgroundHashes", "hash_distinct", "hex_digests"]

#: Fewer values than this are hashed here (forking costs more than it saves).
PARALLEL_MIN = 200_000
_WIDTH = HASH_HEX_LEN // 2

# What the forked worker hashes; set right before the fork, so nothing is pickled.
_WORK: tuple[Keyring, str, list[str]] | None = None


def _hash_part(start: int, stop: int) -> bytes:
    assert _WORK is not None
    keyring, kind, values = _WORK
    return keyring.hash_digests(kind, values[start:stop])


@contextlib.contextmanager
def _forking() -> Iterator[None]:
    """Silence Python 3.12+'s warning about forking a multi-threaded process.

    The forked worker runs only the standard library's BLAKE2b on Python strings and
    sends bytes back; it never touches a lock another thread (Polars, DuckDB) holds.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r".*multi-threaded.*fork", DeprecationWarning)
        yield


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
            with ProcessPoolExecutor(max_workers=1, mp_context=context, **parent_watch()) as pool:
                with _forking():
                    tail = pool.submit(_hash_part, split, n)
                head = keyring.hash_digests(kind, items[:split])
                blob = head + tail.result()
        finally:
            _WORK = None
    return hex_digests(blob, n, values.name)


_BATCH: tuple[Keyring, list[tuple[str, list[str]]]] | None = None


def _hash_batch() -> list[bytes]:
    assert _BATCH is not None
    keyring, jobs = _BATCH
    return [keyring.hash_digests(kind, items) for kind, items in jobs]


def hex_digests(blob: bytes, n: int, name: str = "") -> pl.Series:
    """Hex text of ``n`` digests of :meth:`Keyring.hash_digests`, as a column."""
    digests = pa.Array.from_buffers(pa.binary(_WIDTH), n, [None, pa.py_buffer(blob)])
    return pl.Series(name, digests).bin.encode("hex")


class BackgroundHashes:
    """Pseudonyms of the distinct values of several columns, made in a forked process.

    The worker only runs the standard library's BLAKE2b on plain Python strings (no
    Polars, whose thread pool does not survive a fork), while this process goes on
    with other work; :meth:`get` waits for the result. Without ``fork`` (or with one
    core) the hashes are made on demand here.

    Args:
        keyring: The keys.
        columns: Name -> (pseudonym kind, column); nulls are ignored.
    """

    def __init__(self, keyring: Keyring, columns: dict[str, tuple[str, pl.Series]]) -> None:
        self._keyring = keyring
        self._uniques = {name: s.drop_nulls().unique() for name, (_, s) in columns.items()}
        self._kinds = {name: kind for name, (kind, _) in columns.items()}
        self._done: dict[str, pl.Series] = {}
        self._pool: ProcessPoolExecutor | None = None
        self._future: Future[list[bytes]] | None = None
        total = sum(len(u) for u in self._uniques.values())
        if total >= PARALLEL_MIN and _can_fork():
            global _BATCH
            names = list(self._uniques)
            _BATCH = (keyring, [(self._kinds[n], self._uniques[n].to_list()) for n in names])
            try:
                context = multiprocessing.get_context("fork")
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=context, **parent_watch()
                )
                with _forking():  # the worker is forked here: _BATCH is copied
                    self._future = self._pool.submit(_hash_batch)
            finally:
                _BATCH = None
            self._names = names

    def get(self, name: str) -> tuple[pl.Series, pl.Series]:
        """The distinct non-null values of column ``name`` and their pseudonyms."""
        uniques = self._uniques[name]
        if name not in self._done:
            if self._future is not None:
                blobs = self._future.result()
                for n, blob in zip(self._names, blobs, strict=True):
                    self._done[n] = hex_digests(blob, len(self._uniques[n]), n)
                self.close()
            else:
                self._done[name] = hash_distinct(self._keyring, self._kinds[name], uniques)
        return uniques, self._done[name]

    def close(self) -> None:
        """Stop the worker (if any)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._future = None
