"""The resident process the micro-batcher runs its batches in (see :mod:`.child`).

Started on first use from the batcher's thread (the parent-death signal follows the
thread that started a child, and the batcher's thread lives as long as the server),
replaced after ``max_runs`` batches or once a batch leaves it holding more than
``max_rss_mb`` and more than ``max_rss_growth`` times what its first batch left (the
replacement is started at once, so its imports are done before the next batch), and
started again if it died. Its output is appended to a log file.

Why the bound is relative past ``max_rss_mb``: a worker keeps the stream's merged
ingest between batches (:mod:`.kept_ingest`), and on a history of a few hundred
thousand events or more the batch's own working set leaves it above 1 GiB after every
batch (2.6 GB after a 2M-event batch, with nothing kept). An absolute bound then
replaced the worker after every batch, so nothing kept in it was ever used, and it
returned no memory that the next batch, on the same history, does not take again. What
the bound is for is memory that creeps up from batch to batch; measured against the
worker's first batch, that is still caught.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

__all__ = ["BatchWorker"]

_TAIL_BYTES = 2000


def _rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (0 when it cannot be read)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class BatchWorker:
    """Runs micro-batches (:func:`.batch_run.run_stream_batch`) in one long-lived child."""

    def __init__(
        self,
        log_path: Path,
        *,
        max_runs: int = 10,
        max_rss_mb: float = 1024,
        max_rss_growth: float = 1.5,
    ) -> None:
        self.log_path = Path(log_path)
        self.max_runs = max_runs
        self.max_rss_mb = max_rss_mb
        self.max_rss_growth = max_rss_growth
        self._proc: subprocess.Popen | None = None
        self._runs = 0
        self._first_rss_mb = 0.0  # what the worker's first batch left it holding
        #: the last answer of the worker (``{"rc": ...}``, and what the job added)
        self.last_answer: dict = {}

    def _start(self) -> subprocess.Popen:
        with open(self.log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ringscope.stream.child", str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        self._runs = 0
        self._first_rss_mb = 0.0
        return proc

    def _running(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._start()
        return self._proc

    def pid(self) -> int:
        """The worker's process id, started now if none runs (for reading its /proc)."""
        return self._running().pid

    def run(self, job: dict) -> int:
        """Run one job (a micro-batch, or a compaction); its status (negative: the signal
        that ended the worker)."""
        proc = self._running()
        try:
            proc.stdin.write(orjson.dumps(job) + b"\n")
            proc.stdin.flush()
            answer = proc.stdout.readline()
        except BrokenPipeError:
            answer = b""
        if not answer:  # the worker died during the command
            self._proc = None
            self.last_answer = {}
            return proc.wait() or -1
        self._runs += 1
        rss = _rss_mb(proc.pid)
        if self._runs == 1:
            self._first_rss_mb = rss
        bound = max(self.max_rss_mb, self.max_rss_growth * self._first_rss_mb)
        if self._runs >= self.max_runs or rss > bound:
            self.close()
            self._proc = self._start()
        self.last_answer = orjson.loads(answer)
        return int(self.last_answer["rc"])

    def output_tail(self) -> str:
        """The end of the worker's output (for a failed batch's report)."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(max(0, self.log_path.stat().st_size - _TAIL_BYTES))
                return fh.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def close(self) -> None:
        """End the worker (called between batches, when it is idle)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
