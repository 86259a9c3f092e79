"""Streaming: what one micro-batch costs, per step, against the history it runs on.

python bench/bench_stream_history.py --world DIR [--histories 120000 500000 2020000]
    [--batch 20000] [--segment 20000] [--timed 1] [--out DIR]

The world's events (``events.jsonl.gz``) are sorted by time (as ``bench_stream.py``
sorts them), de-duplicated by idempotency key and appended as canonical lines to the
stream's own log (:class:`ringscope.stream.log.EventLog`, as ``POST /v1/events`` appends
them, without the request's validation), sealed every ``--segment`` events (what a
replay at 2,000 events/s and a 10 s batch interval seals) under a fresh stream root.
For each history size, in rising order, the root is filled up to that size and one
micro-batch is run to warm the ingest cache and the kept risk model, then ``--batch``
new events are sealed and the next micro-batch is timed, ``--timed`` times (the first
batch after a fit scores every actor with the kept models; the later ones only the
actors whose model inputs changed). Batches run in the real
resident worker (:class:`ringscope.stream.worker.BatchWorker`), one worker for the
whole run, as the server's batcher runs them (never replaced here, so state kept in
the worker between batches is used as in a server between two replacements).

Per timed batch: each pipeline step's wall / CPU seconds (the snapshot's manifest;
``ingest`` is the cached segments read and merged), the whole job's wall and CPU seconds (the
worker's ``/proc`` times), the worker's peak RSS during the batch (its high-water mark
is reset before each batch) and its RSS after. Prints a Markdown table and writes
``OUT/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import common
from common import SECRET

from ringscope.ingest.rejects import empty_rejects
from ringscope.snapshot import latest_snapshot, read_manifest
from ringscope.stream.check import CheckedEvents, canonical_line, event_key
from ringscope.stream.log import EventLog
from ringscope.stream.worker import BatchWorker

_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _sorted_lines(world: Path) -> list[tuple[bytes, str]]:
    """The world's events as the log would hold them: time order, one line per key,
    each with its key."""
    seen: set[str] = set()
    lines = []
    for event in common.events_in_time_order(world):
        line = canonical_line(event)
        key = event_key(event, line)
        if key not in seen:
            seen.add(key)
            lines.append((line, key))
    return lines


def _seal(
    log: EventLog, lines: list[tuple[bytes, str]], start: int, stop: int, segment: int
) -> None:
    """Append lines[start:stop] to the log, sealing every ``segment`` lines."""
    for k in range(start, stop, segment):
        chunk = lines[k : min(stop, k + segment)]
        accepted = [(i, line, key) for i, (line, key) in enumerate(chunk)]
        log.append(CheckedEvents(accepted, empty_rejects()))
        log.seal()


def _batch(worker: BatchWorker, root: Path) -> dict:
    """Run one micro-batch in the worker; its costs."""
    pid = worker.pid()
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak RSS
    cpu0, t0 = _cpu_s(pid), time.perf_counter()
    rc = worker.run({"root": str(root), "config": None, "demo_key": False})
    wall, cpu = time.perf_counter() - t0, _cpu_s(pid) - cpu0
    if rc != 0:
        raise SystemExit(f"batch failed ({rc}): {worker.output_tail()}")
    manifest = read_manifest(latest_snapshot(root))
    ranking = manifest["steps"]["ranking"]
    risk = ranking.get("risk_model", {}).get("stream", {})
    return {
        "events": manifest["events"],
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(_status_mb(pid, "VmHWM")),
        "rss_after_mb": round(_status_mb(pid, "VmRSS")),
        "steps": {name: t["seconds"] for name, t in manifest["timings"].items()},
        "steps_cpu": {name: t["cpu_seconds"] for name, t in manifest["timings"].items()},
        "risk_refit": risk.get("refit"),
        "actors_scored": risk.get("actors_scored"),
        "actors": ranking.get("actors"),
        "load": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--histories", type=int, nargs="+", default=[120_000, 500_000, 2_020_000])
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--segment", type=int, default=20_000)
    parser.add_argument("--timed", type=int, default=1, help="timed batches per history")
    parser.add_argument("--out", type=Path, default=common.OUT / "stream-history")
    args = parser.parse_args()
    os.environ["RINGSCOPE_SECRET_KEY"] = SECRET
    lines = _sorted_lines(args.world)
    root = args.out / "root"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    worker = BatchWorker(root / "stream" / "batches.log", max_runs=10**6, max_rss_mb=float("inf"))
    log = EventLog(root).open("bench_stream_history")
    results, filled = [], 0
    try:
        for history in sorted(args.histories):
            end = history + args.timed * args.batch
            if end > len(lines):
                raise SystemExit(f"the world has {len(lines)} events, fewer than {end}")
            _seal(log, lines, filled, history, args.segment)
            warm = _batch(worker, root)
            timed = []
            for start in range(history, end, args.batch):
                _seal(log, lines, start, start + args.batch, args.segment)
                timed.append(_batch(worker, root))
            filled = end
            results.append({"history": history, "warm": warm, "timed": timed})
            print(json.dumps(results[-1]), flush=True)
    finally:
        worker.close()
        log.close()
    steps = list(results[0]["timed"][0]["steps"])
    print(
        "| history → batch | load | "
        + " | ".join(steps)
        + " | wall | CPU | peak RSS MB | actors scored |"
    )
    print("|---" * (len(steps) + 6) + "|")
    for r in results:
        for t in r["timed"]:
            cells = [f"{t['steps'][s]:.2f} / {t['steps_cpu'][s]:.2f}" for s in steps]
            print(
                f"| {r['history']:,} → {t['events']:,} | {t['load']:.1f} | "
                + " | ".join(cells)
                + f" | {t['wall_s']:.1f} | {t['cpu_s']:.1f} | {t['peak_rss_mb']} "
                + f"| {t['actors_scored']} of {t['actors']} |"
            )
    (args.out / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
