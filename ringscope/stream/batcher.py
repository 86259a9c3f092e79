"""Micro-batches: every few seconds, the logged events become a new published snapshot.

Each batch seals the active segment (:meth:`EventLog.seal`), moves in the files the
drop folder received (:mod:`ringscope.stream.filedrop`), and runs the whole pipeline
(:mod:`ringscope.stream.batch_run`) over every sealed segment and dropped file in a resident worker
process (:mod:`ringscope.stream.worker`): the server's interpreter is not held while it
works, imports are paid once, the worker is replaced every few batches (and when it
holds much memory) so memory is returned, and it dies with the server
(``PR_SET_PDEATHSIG``), even on ``kill -9``. The run
publishes atomically with lineage against the previous snapshot, as any run does, and
the server's holder serves it at once.

**What a batch recomputes**: ingest only for the segments sealed since the last batch
(each segment's ingest is kept, :mod:`ringscope.stream.ingest_cache`); the learned risk
model only on the refit schedule of :mod:`ringscope.ranking.kept_models` (its fold
models are kept in the worker between fits); every other step (graph, coordination,
communities, the rest of ranking) over all history, so a batch's cost still grows with
history (``bench/bench_stream.py`` prints each step's seconds per batch). Keeping
coordination's windowed co-uses per item (pairing only what new events changed) and
starting Leiden from the previous membership were built and measured, and are not
here: the evidence stayed exact, but item weights and the chance model read counts over
all history, so every pair's evidence is computed again in any case, pairing is about
an eighth of the step, and finding what changed cost more than pairing it (a 2M-record
batch was slower; ``bench/RESULTS.md``).

Each finished batch is one line of ``ROOT/stream/batches.jsonl`` (snapshot id, events
read, seconds, seconds per step, whether the risk model was fitted again), and
snapshots beyond the newest ``keep_snapshots`` are removed.

With ``stream.compact_segments`` set in the run configuration, a published batch that
leaves more sealed segments than that is followed by a compaction of the log
(:mod:`ringscope.stream.compact`), run in the worker under the server's lock; appends go
on meanwhile, and the next batch fits the risk model again.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ringscope.config import RunConfig
from ringscope.snapshot import LATEST, latest_snapshot, list_snapshots, read_manifest
from ringscope.stream.filedrop import FileDrop
from ringscope.stream.log import EventLog, sealed_segments
from ringscope.stream.worker import BatchWorker

__all__ = ["BatchReport", "MicroBatcher", "published_inputs"]

log = logging.getLogger(__name__)

_OUTPUT_TAIL = 2000  # characters of a failed run's output kept for the log and /v1/stats


def published_inputs(root: Path, folder: Path) -> tuple[int, int]:
    """(records, files) under ``folder`` that the newest snapshot was made from."""
    latest = latest_snapshot(root)
    if latest is None:
        return 0, 0
    prefix = str(folder) + os.sep
    inputs = [
        i for i in read_manifest(latest).get("inputs", []) if str(i["path"]).startswith(prefix)
    ]
    return sum(int(i["records"]) for i in inputs), len(inputs)


@dataclass
class BatchReport:
    """One finished (or failed) micro-batch."""

    snapshot_id: str | None
    log_events: int
    dropped_files: int
    seconds: float
    ok: bool
    error: str | None = None
    finished_at: float = field(default_factory=time.time)
    # seconds per pipeline step; whether the risk model was fitted (else kept), and why
    steps: dict[str, float] = field(default_factory=dict)
    risk_refit: bool | None = None
    risk_refit_why: str | None = None


def _costs(snapshot: Path) -> dict:
    """What a published batch spent per step, and whether it fitted the risk model."""
    manifest = read_manifest(snapshot)
    risk = manifest["steps"].get("ranking", {}).get("risk_model", {}).get("stream", {})
    return {
        "steps": {name: t["seconds"] for name, t in manifest["timings"].items()},
        "risk_refit": risk.get("refit"),
        "risk_refit_why": risk.get("why"),
    }


class MicroBatcher:
    """Runs a micro-batch every ``interval_s`` seconds while new events wait."""

    def __init__(
        self,
        root: Path,
        event_log: EventLog,
        *,
        interval_s: float,
        keep_snapshots: int = 5,
        config: Path | None = None,
        demo_key: bool = False,
        drop: FileDrop | None = None,
        on_published: Callable[[], None] | None = None,
        on_batch: Callable[[BatchReport], None] | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.log = event_log
        self.interval_s = interval_s
        self.keep_snapshots = keep_snapshots
        self.config = config
        self.demo_key = demo_key
        self.drop = drop
        self.on_published = on_published
        self.on_batch = on_batch
        #: sealed events the newest snapshot holds
        self.published, _ = published_inputs(self.root, self.log.sealed_dir)
        #: dropped files the newest snapshot holds
        self.published_drops = (
            published_inputs(self.root, drop.consumed_dir)[1] if drop is not None else 0
        )
        #: monotonic time the oldest event not yet in a snapshot was stored (None: none)
        self.waiting_since: float | None = None
        self.last: BatchReport | None = None
        #: compact once a published batch leaves more sealed segments than this (0: never)
        self.compact_segments = (
            RunConfig.from_toml(config) if config else RunConfig()
        ).stream.compact_segments
        #: the report of the last compaction (None: none yet)
        self.last_compaction: dict | None = None
        self.worker = BatchWorker(self.log.root / "stream" / "batches.log")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def backlog(self) -> int:
        """Logged events that no published snapshot holds yet."""
        return max(0, self.log.total - self.published)

    def lag_s(self) -> float:
        """Seconds the oldest event not yet in a snapshot has waited (0 when none waits)."""
        oldest = [t for t in (self.waiting_since, self.log.oldest_unsealed) if t is not None]
        return time.monotonic() - min(oldest) if oldest and self.backlog else 0.0

    def start(self) -> None:
        """Run batches in a background thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._loop, name="micro-batcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the batch in progress (if any)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.worker.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception:  # a failed batch is retried at the next interval
                log.exception("micro-batch failed")

    def run_once(self) -> BatchReport | None:
        """One micro-batch, if there is anything new; its report, or None."""
        if self.drop is not None:
            self.drop.collect()
        if self.log.total == self.published and not self._unpublished_drops():
            return None
        oldest = self.log.oldest_unsealed
        if self.waiting_since is None or (oldest is not None and oldest < self.waiting_since):
            self.waiting_since = oldest
        sealed = self.log.seal()
        if not sealed and not (self.drop is not None and self.drop.has_files()):
            return None
        started = time.perf_counter()
        error = self._run()
        seconds = time.perf_counter() - started
        snapshot = latest_snapshot(self.root)
        report = BatchReport(
            snapshot_id=snapshot.name if snapshot is not None and error is None else None,
            log_events=sealed,
            dropped_files=self.drop.file_count() if self.drop is not None else 0,
            seconds=round(seconds, 3),
            ok=error is None,
            error=error,
            **(_costs(snapshot) if error is None and snapshot is not None else {}),
        )
        if error is None:
            self.published = sealed
            self.waiting_since = None
            self.published_drops = report.dropped_files
            self._prune()
            if self.on_published is not None:
                self.on_published()
        self._record(report)
        self.last = report
        if self.on_batch is not None:
            self.on_batch(report)
        if error is None:
            try:
                self._maybe_compact()
            except Exception:  # the batch stands; the next one tries again
                log.exception("compaction failed")
        return report

    def _maybe_compact(self) -> None:
        """Compact the log in the worker once it holds more than ``compact_segments``."""
        if not self.compact_segments or len(sealed_segments(self.root)) <= self.compact_segments:
            return
        job = {"compact": True, "root": str(self.root), "demo_key": self.demo_key}
        rc = self.worker.run(job)
        if rc != 0:
            log.error("compaction failed (status %d): %s", rc, self.worker.output_tail()[-500:])
            return
        report = self.worker.last_answer["report"]
        if report["duplicates_dropped"]:
            self.log.forget_sealed(report["duplicates_dropped"])
            self.published -= report["duplicates_dropped"]
        self.last_compaction = report

    def _unpublished_drops(self) -> bool:
        return self.drop is not None and self.drop.file_count() != self.published_drops

    def _run(self) -> str | None:
        """Publish a snapshot of everything sealed and dropped; None on success, else why."""
        job = {"root": str(self.root), "config": self.config and str(self.config)}
        rc = self.worker.run(job | {"demo_key": self.demo_key})
        if rc == 0:
            return None
        tail = self.worker.output_tail()[-_OUTPUT_TAIL:]
        log.error("micro-batch failed (status %d): %s", rc, tail)
        return f"status {rc}: {tail}"

    def _record(self, report: BatchReport) -> None:
        path = self.log.root / "stream" / "batches.jsonl"
        with open(path, "ab") as fh:
            fh.write(orjson.dumps(report.__dict__) + b"\n")

    def _prune(self) -> None:
        """Remove snapshots beyond the newest ``keep_snapshots`` (never the latest)."""
        pointer = self.root / LATEST
        latest = pointer.read_text().strip() if pointer.exists() else None
        for old in list_snapshots(self.root)[: -self.keep_snapshots or None]:
            if old.name != latest:
                shutil.rmtree(old, ignore_errors=True)
