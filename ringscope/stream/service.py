"""The ingest service of ``ringscope serve --ingest``: check, log, batch, measure.

One :class:`IngestService` per server: :meth:`ingest` is what ``POST /v1/events`` calls
(check with the batch ingest code, refuse when the backlog is past its bound, store
durably, count), and the :class:`MicroBatcher` it owns turns the log into snapshots.
Its Prometheus metrics live in the app's registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ringscope.privacy import Keyring
from ringscope.stream.batcher import BatchReport, MicroBatcher
from ringscope.stream.check import EventChecker
from ringscope.stream.filedrop import FileDrop
from ringscope.stream.log import EventLog

__all__ = ["Backlogged", "IngestOutcome", "IngestService"]

_BATCH_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)


class Backlogged(Exception):
    """The unprocessed backlog is past its bound: refuse (429) until a batch drains it."""

    def __init__(self, backlog: int, retry_after_s: int) -> None:
        super().__init__(f"ingest backlog of {backlog} events is past its bound; retry later")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class IngestOutcome:
    """The answer to one posted array."""

    accepted: int  # valid events (stored now, or already in the log)
    duplicates: int  # of those, already logged (or repeated in the array)
    rejected: int
    rejects: list[dict[str, Any]]  # {"index", "reason"} per rejected element


class _Metrics:
    """The ingest and micro-batch series in the app's registry."""

    def __init__(self, registry: CollectorRegistry, service: IngestService) -> None:
        self.events = Counter(
            "ringscope_ingest_events",
            "posted events by outcome: stored, duplicate (already logged), rejected",
            ["outcome"],
            registry=registry,
        )
        self.refused = Counter(
            "ringscope_ingest_refused_requests",
            "POST /v1/events answered 429 because the backlog was past its bound",
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "ringscope_microbatch_duration_seconds",
            "wall time of a micro-batch (pipeline run and publish)",
            buckets=_BATCH_BUCKETS,
            registry=registry,
        )
        self.batch_failures = Counter(
            "ringscope_microbatch_failures",
            "micro-batches that published nothing",
            registry=registry,
        )
        backlog = Gauge(
            "ringscope_ingest_backlog_events",
            "logged events no published snapshot holds yet (queue depth)",
            registry=registry,
        )
        backlog.set_function(lambda: service.batcher.backlog)
        lag = Gauge(
            "ringscope_stream_lag_seconds",
            "age of the oldest logged event not yet in a published snapshot (0 when none)",
            registry=registry,
        )
        lag.set_function(service.batcher.lag_s)
        history = Gauge(
            "ringscope_stream_log_events", "events in the durable log", registry=registry
        )
        history.set_function(lambda: service.log.total)

    def batch(self, report: BatchReport) -> None:
        self.batch_seconds.observe(report.seconds)
        if not report.ok:
            self.batch_failures.inc()


class IngestService:
    """Event log, checker and micro-batcher of one snapshot root."""

    def __init__(
        self,
        root: Path,
        keyring: Keyring,
        *,
        registry: CollectorRegistry,
        interval_s: float,
        max_backlog: int,
        keep_snapshots: int = 5,
        config: Path | None = None,
        drop_dir: Path | None = None,
        on_published: Any = None,
    ) -> None:
        self.log = EventLog(root).open()
        self.checker = EventChecker(keyring)
        self.max_backlog = max_backlog
        self.batcher = MicroBatcher(
            root,
            self.log,
            interval_s=interval_s,
            keep_snapshots=keep_snapshots,
            config=config,
            demo_key=keyring.is_demo,
            drop=FileDrop(drop_dir, root) if drop_dir is not None else None,
            on_published=on_published,
            on_batch=self._on_batch,
        )
        self.metrics = _Metrics(registry, self)

    def _on_batch(self, report: BatchReport) -> None:
        self.metrics.batch(report)

    def ingest(self, events: list[Any]) -> IngestOutcome:
        """Check ``events``, store the valid new ones durably; raises :class:`Backlogged`."""
        backlog = self.batcher.backlog
        if backlog >= self.max_backlog:
            self.metrics.refused.inc()
            raise Backlogged(backlog, max(1, round(self.batcher.interval_s)))
        checked = self.checker.check(events)
        stored = self.log.append(checked)
        rejects = [
            {"index": int(i), "reason": r}
            for i, r in zip(
                checked.rejects["position"].to_list(),
                checked.rejects["reason"].to_list(),
                strict=True,
            )
        ]
        self.metrics.events.labels("stored").inc(stored.stored)
        self.metrics.events.labels("duplicate").inc(stored.duplicates)
        self.metrics.events.labels("rejected").inc(len(rejects))
        return IngestOutcome(len(checked.accepted), stored.duplicates, len(rejects), rejects)

    def start(self) -> None:
        """Start micro-batching."""
        self.batcher.start()

    def stop(self) -> None:
        """Stop micro-batching and close the log."""
        self.batcher.stop()
        self.log.close()
