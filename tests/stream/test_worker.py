"""The batch worker is replaced when its memory creeps up, not merely because the batch
of a large history needs more than the absolute bound (which replaced it after every
batch there, so nothing it kept between batches was used)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ringscope.stream.worker import BatchWorker


def _pids(worker: BatchWorker, root: Path, jobs: int) -> list[int]:
    """The worker's process id before each of ``jobs`` real jobs (a compaction of an
    empty root: it fails, the worker answers)."""
    pids = []
    for _ in range(jobs):
        pids.append(worker.pid())
        worker.run({"compact": True, "root": str(root), "demo_key": True})
    return pids


@pytest.mark.parametrize(
    ("growth", "processes"),
    [(1.5, 1), (0.5, 2)],
    ids=["above-the-absolute-bound-stays-while-its-memory-holds", "grown-past-the-bound-replaced"],
)
def test_a_worker_is_replaced_only_when_its_memory_grows(
    tmp_path: Path, growth: float, processes: int
) -> None:
    worker = BatchWorker(tmp_path / "batches.log", max_rss_mb=1, max_rss_growth=growth)
    try:
        pids = _pids(worker, tmp_path, 2)
    finally:
        worker.close()
    assert len(set(pids)) == processes
