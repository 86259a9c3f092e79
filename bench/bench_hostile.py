"""Hostile input and faults on ``ringscope run``: one huge bad record, and ``kill -9``.

    python bench/bench_hostile.py --legit 3000 --seed 3 [--bad-mb 50] [--kill workers publish]

* ``huge``: 2,000 events of the seeded world (cached under bench/out/), then the whole
  world, each plus one bad record (``"ts": "x"``) whose ``reason`` is ``--bad-mb`` MB long;
  the run must finish, with that record rejected, in at most 30 s (the same runs without
  it are timed too).
* ``kill``: runs of the world plus the bad record (a file big enough for ingest's worker
  pool) killed with SIGKILL while the ingest workers run (``workers``) and while the
  snapshot is being published (``publish``); after each, the seconds until no process
  of the run's process group is left, and whether the next run removed the
  ``.partial`` directory the killed one left.

Prints a Markdown table for bench/RESULTS.md and writes bench/out/hostile/results.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import OUT, SECRET, cached_world

from ringscope.lifetime import live_group_members as _group

HOSTILE = OUT / "hostile"
TARGET_S = 30.0


def _run(inputs: list[Path], out: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "ringscope.cli", "run", *map(str, inputs), "--out", str(out)]
    return subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=os.environ | {"RINGSCOPE_SECRET_KEY": SECRET},
    )


def _timed_run(inputs: list[Path], out: Path) -> tuple[float, int]:
    started = time.perf_counter()
    proc = _run(inputs, out)
    _, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"run failed: {err.decode()[-2000:]}")
    return time.perf_counter() - started, proc.returncode


def _huge(world: Path, bad_mb: int) -> dict:
    events = world / "events.jsonl.gz"
    bad = HOSTILE / "bad.jsonl"
    with bad.open("wb") as out:
        out.write(b'{"ts": "x", "actor_id": "a1", "event_type": "report", "reason": "')
        out.write(b"A" * (bad_mb << 20))
        out.write(b'"}\n')
    small = HOSTILE / "small.jsonl"
    with gzip.open(events, "rb") as fh:
        small.write_bytes(b"".join(line for _, line in zip(range(2000), fh, strict=False)))
    small_s, _ = _timed_run([small], HOSTILE / "snaps-small")
    small_bad_s, _ = _timed_run([small, bad], HOSTILE / "snaps-small-bad")
    plain_s, _ = _timed_run([events], HOSTILE / "snaps-plain")
    huge_s, _ = _timed_run([events, bad], HOSTILE / "snaps-huge")
    latest = (HOSTILE / "snaps-huge" / "LATEST").read_text().strip()
    snap = HOSTILE / "snaps-huge" / latest
    with gzip.open(snap / "rejects.jsonl.gz", "rb") as fh:
        rejects = [json.loads(line) for line in fh]
    mine = [r for r in rejects if r["source"].endswith("bad.jsonl")]
    return {
        "bad_mb": bad_mb,
        "small_s": round(small_s, 1),
        "small_with_bad_record_s": round(small_bad_s, 1),
        "plain_s": round(plain_s, 1),
        "with_bad_record_s": round(huge_s, 1),
        "bad_record_rejected": len(mine) == 1,
        "reason": mine[0]["reason"] if mine else None,
        "preview_chars": len(mine[0]["preview"]) if mine else None,
        "met": small_bad_s <= TARGET_S and huge_s <= TARGET_S and len(mine) == 1,
    }


def _wait(check, timeout_s: float) -> bool:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


def _kill(inputs: list[Path], moment: str) -> dict:
    """Kill a run while its ingest workers run (``workers``) or while it publishes
    (``publish``, retried until a kill lands while the ``.partial`` directory exists)."""
    root = HOSTILE / f"snaps-kill-{moment}"
    for _ in range(5):
        shutil.rmtree(root, ignore_errors=True)
        proc = _run(inputs, root)
        if moment == "workers":
            _wait(lambda p=proc: len(_group(p.pid)) >= 3 or p.poll() is not None, 120)
        else:
            _wait(lambda p=proc: bool(list(root.glob(".*.partial"))) or p.poll() is not None, 300)
        seen = len(_group(proc.pid))
        partial_at_kill = bool(list(root.glob(".*.partial")))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if moment == "workers" or partial_at_kill:
            break
    killed = time.perf_counter()
    _wait(lambda: not _group(proc.pid), 30)
    gone_s = time.perf_counter() - killed
    left = _group(proc.pid)
    nxt = _run(inputs, root)
    nxt.communicate()
    return {
        "moment": moment,
        "processes_at_kill": seen,
        "partial_at_kill": partial_at_kill,
        "processes_left": len(left),
        "all_gone_within_s": round(gone_s, 2),
        "partial_after_next_run": bool(list(root.glob(".*.partial"))),
        "next_run_rc": nxt.returncode,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legit", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--bad-mb", type=int, default=50)
    parser.add_argument("--kill", nargs="*", default=["workers", "publish"])
    args = parser.parse_args()
    HOSTILE.mkdir(parents=True, exist_ok=True)
    world = cached_world(args.legit, args.seed)
    huge = _huge(world, args.bad_mb)
    print(json.dumps(huge), file=sys.stderr, flush=True)
    inputs = [world / "events.jsonl.gz", HOSTILE / "bad.jsonl"]  # past the worker threshold
    kills = [_kill(inputs, moment) for moment in args.kill]
    report = {"legit": args.legit, "seed": args.seed, "huge": huge, "kills": kills}
    (HOSTILE / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}\n")
    print("| run | wall | bad record rejected | ≤ 30 s |\n|---|---|---|---|")
    print(f"| 2,000 events of the world | {huge['small_s']} s | | |")
    small_met = "yes" if huge["small_with_bad_record_s"] <= TARGET_S else "no"
    print(
        f"| 2,000 events + one {args.bad_mb} MB bad record | {huge['small_with_bad_record_s']} s "
        f"| {huge['bad_record_rejected']} | {small_met} |"
    )
    print(f"| world only | {huge['plain_s']} s | | |")
    print(
        f"| world + one {args.bad_mb} MB bad record | {huge['with_bad_record_s']} s "
        f"| {huge['bad_record_rejected']} ({huge['reason']}) "
        f"| {'yes' if huge['with_bad_record_s'] <= TARGET_S else 'no'} |"
    )
    print(
        "\n| kill -9 at | processes then | .partial then | left after | all gone in "
        "| .partial after next run | next run rc |\n|---|---|---|---|---|---|---|"
    )
    for k in kills:
        print(
            f"| {k['moment']} | {k['processes_at_kill']} "
            f"| {k['partial_at_kill']} | {k['processes_left']} | {k['all_gone_within_s']} s "
            f"| {k['partial_after_next_run']} | {k['next_run_rc']} |"
        )


if __name__ == "__main__":
    main()
