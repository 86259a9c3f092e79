"""Independent folds of a cross-fit, side by side on the machine's cores."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from threadpoolctl import threadpool_limits

__all__ = ["in_threads"]

T = TypeVar("T")


def in_threads(fit: Callable[[int], T], folds: int) -> list[T]:
    """``fit(k)`` of every fold ``k``, in fold order, on one thread per core.

    The folds are independent and seeded, and the learners' work (tree building,
    boosting, SGD epochs, BLAS, sparse products) runs outside the GIL, so two cores fit
    two folds at once: the results are the same bits as fitted one after the other. BLAS
    stays at one thread for the whole section (see :mod:`ringscope.ranking.risk_model`),
    set here once because a limit that each fit set and restored on its own would, with
    fits overlapping, restore the library's default under a fit still running.
    """
    with (
        threadpool_limits(limits=1, user_api="blas"),
        ThreadPoolExecutor(max_workers=min(folds, os.cpu_count() or 1)) as pool,
    ):
        return list(pool.map(fit, range(folds)))
