"""The batch worker is replaced when its memory creeps up, not merely because the batch
of a large history needs more than the absolute bound (which replaced it after every
batch there, so nothing it kept between batches was used)."""

from __future__ import annotations

from pathlib import Path

from ringscope.stream.worker import BatchWorker


def _pids(worker: BatchWorker, root: Path, jobs: int) -> list[int]:
    """The worker's process id before each of ``jobs`` real jobs (a compaction of an
    empty root: it fails, the worker answers)."""
    pids = []
    for _ in range(jobs):
        pids.append(worker.pid())
        worker.run({"compact": True, "root": str(root), "demo_key": True})
    return pids


def test_a_worker_above_the_absolute_bound_stays_while_its_memory_holds(tmp_path: Path) -> None:
    worker = BatchWorker(tmp_path / "batches.log", max_rss_mb=1, max_rss_growth=1.5)
    try:
        pids = _pids(worker, tmp_path, 2)
    finally:
        worker.close()
    assert len(set(pids)) == 1


def test_a_worker_whose_memory_grows_past_the_bound_is_replaced(tmp_path: Path) -> None:
    worker = BatchWorker(tmp_path / "batches.log", max_rss_mb=1, max_rss_growth=0.5)
    try:
        pids = _pids(worker, tmp_path, 2)
    finally:
        worker.close()
    assert len(set(pids)) == 2
