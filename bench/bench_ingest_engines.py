"""Ingest alone on each engine: wall time, the driver process's peak memory, the tree's.

Runs ``Engine.ingest`` of the local engine and of the Spark engine (``local[2]`` unless
``--spark-master``) on a cached generated world, each in a fresh child process. The
driver's peak is the child's own peak RSS (``ru_maxrss``: the Python process that holds
what ingest hands to the next step; the local engine's block workers and Spark's JVM,
which hosts the ``local[2]`` executors, are other processes); the tree's peak is sampled
as in ``bench_engines.py`` (PSS of the child and every descendant, twice a second).

    python bench/bench_ingest_engines.py --legit 50000 --seed 11      # ~2M records
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import psutil
from bench_engines import engines_parser, tree_rss
from common import OUT, SECRET, cached_world

from ringscope.config import RunConfig
from ringscope.engines import resolve_engine
from ringscope.privacy import load_keyring


def _child(engine: str, world: Path, master: str) -> None:
    """One ingest in this process; its result as one JSON line on stdout."""
    config = RunConfig().with_overrides({"engine": engine, "spark.master": master})
    runner = resolve_engine(config)
    inputs = sorted(world.glob("events*"))
    try:
        t0 = time.perf_counter()
        result = runner.ingest(
            inputs, keyring=load_keyring(), max_reject_rate=config.max_reject_rate, progress=False
        )
        wall = time.perf_counter() - t0
    finally:
        runner.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {
        "engine": engine,
        "ingest_s": round(wall, 1),
        "driver_peak_gb": round(peak_kib / 2**20, 2),
        "events": result.events.height,
        "rejects": result.rejects.height,
        "duplicates": result.duplicates,
    }
    sys.stdout.write(json.dumps(out) + "\n")


def _run(engine: str, world: Path, master: str) -> dict:
    """The child for one engine, with the peak memory of its process tree."""
    cmd = [sys.executable, __file__, "--child", engine, "--world", str(world), "--spark-master"]
    env = os.environ | {"RINGSCOPE_SECRET_KEY": SECRET}
    child = subprocess.Popen([*cmd, master], env=env, stdout=subprocess.PIPE, text=True)
    proc, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        peak = max(peak, tree_rss(proc)[0])
        time.sleep(0.5)
    stdout = child.communicate()[0]
    if child.returncode != 0:
        return {"engine": engine, "failed": f"exit {child.returncode}"}
    return json.loads(stdout.splitlines()[-1]) | {"tree_peak_gb": round(peak / 2**30, 2)}


def main() -> None:
    parser = engines_parser(__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--world", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.world, args.spark_master)
        return
    world = cached_world(args.legit, args.seed)
    results = [_run(engine, world, args.spark_master) for engine in args.engines]
    out = OUT / f"bench-ingest-engines-{args.legit}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    sys.stdout.write(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
