"""Benchmark ``ringscope run`` end to end: wall time, peak RSS, events/s per step.

Generates (once, cached under bench/out/) a seeded world of the requested size as
JSONL.gz, then runs the real CLI in a child process so peak RSS is the run's own.

    python bench/bench_run.py --legit 50000          # ~2M records
    python bench/bench_run.py --legit 500000         # ~20M records
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from common import OUT, SECRET, cached_world, evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legit", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--method", default="leiden")
    args = parser.parse_args()

    world = cached_world(args.legit, args.seed)
    inputs = sorted(str(p) for p in world.glob("events*"))
    snaps = OUT / f"snapshots-{args.legit}"
    env = os.environ | {"RINGSCOPE_SECRET_KEY": SECRET}
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ringscope.cli",
            "run",
            *inputs,
            "--out",
            str(snaps),
            "--method",
            args.method,
        ],
        check=True,
        env=env,
    )
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    snap = snaps / (snaps / "LATEST").read_text().strip()
    manifest = json.loads((snap / "manifest.json").read_text())
    records = manifest["events"] + manifest["rejected"] + manifest["duplicates"]
    eval_json = OUT / f"eval-{args.legit}.json"
    quality = evaluate(snap, world, eval_json)
    result = {
        "legit_actors": args.legit,
        "records": records,
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(peak_mb),
        "records_per_s": round(records / wall),
        "steps": manifest["timings"],
        "cpu_count": os.cpu_count(),
        "quality": quality,
    }
    (OUT / f"bench-run-{args.legit}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "quality"}, indent=2))


if __name__ == "__main__":
    main()
