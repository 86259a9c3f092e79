"""Benchmark the local engine against Spark on one machine: wall time and peak memory.

Runs the real CLI (``ringscope run --engine local`` and ``--engine spark --spark-master
local[2]``) in child processes on a cached generated world (see ``bench_run.py``) and
samples the resident memory (PSS) of the whole process tree (the Spark JVM included)
twice a second. Embeddings are off in both runs: they are the same driver-side step either way.
A run that fails (out of memory, time limit) is recorded with the memory it reached.

    python bench/bench_engines.py --legit 50000      # ~2M records
    python bench/bench_engines.py --legit 500000 --engines spark --timeout 3600   # ~20M
    # hub-heavy: a carrier NAT, shared family devices, large viral and office groups
    python bench/bench_engines.py --legit 50000 --engines local --world-set mobile_hosts=1 \
        --world-set n_family=3000 --world-set viral_size=2000,6000 \
        --world-set n_nat=2 --world-set nat_size=3000,6000
    python bench/bench_engines.py --legit 50000 --standalone-workers 2 \
        --spark-conf spark.driver.memory=2g --spark-conf spark.executor.memory=2g

``--standalone-workers N`` starts a Spark standalone cluster (a master and N workers of
``--worker-cores`` cores and ``--worker-memory`` each, from the pyspark install) for the
Spark runs. Its JVMs are not children of the run, so the peak memory reported is the
driver side's (the ``ringscope`` process and its driver JVM), with the largest single
process beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
from common import OUT, SECRET, cached_world, evaluate

from ringscope.engines.spark.standalone import StandaloneCluster

_CONFIG = "[embeddings]\nenabled = false\n"


def tree_rss(proc: psutil.Process) -> tuple[int, int]:
    """Resident bytes of a process and all its descendants (the Spark JVM included).

    Each process counts its proportional set size (PSS: a page shared by k processes
    counts 1/k in each), so a forked child's copy-on-write pages are not counted twice,
    as a sum of plain RSS would. Also returns the largest single process's RSS.
    """
    total = largest = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            info = p.memory_full_info()
        except psutil.Error:
            continue
        total += info.pss
        largest = max(largest, info.rss)
    return total, largest


def _run(
    engine: str,
    world: Path,
    legit: int,
    spark_args: list[str],
    timeout: float,
    max_rss: float,
) -> dict:
    """One ``ringscope run``; wall time, peak tree RSS, step timings or the failure.

    A run past ``timeout`` seconds or ``max_rss`` bytes is killed (before the kernel's
    out-of-memory killer picks a victim) and recorded as failed, with what it reached.
    """
    config = OUT / "bench-engines.toml"
    config.write_text(_CONFIG)
    snaps = OUT / f"snapshots-engines-{engine}-{legit}"
    inputs = sorted(str(p) for p in world.glob("events*"))
    cmd = [sys.executable, "-m", "ringscope.cli", "run", *inputs, "--out", str(snaps)]
    cmd += ["--config", str(config), "--engine", engine]
    if engine == "spark":
        cmd += spark_args
    env = os.environ | {"RINGSCOPE_SECRET_KEY": SECRET}
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    proc, peak, largest, killed = psutil.Process(child.pid), 0, 0, None
    while child.poll() is None:
        tree, one = tree_rss(proc)
        peak, largest = max(peak, tree), max(largest, one)
        if time.perf_counter() - t0 > timeout:
            killed = f"time limit {timeout:.0f} s"
        elif peak > max_rss:
            killed = f"memory cap {max_rss / 2**30:.0f} GB"
        if killed:
            for p in [*proc.children(recursive=True), proc]:
                p.kill()
            break
        time.sleep(0.5)
    stderr = child.communicate()[1]
    wall = time.perf_counter() - t0
    result = {
        "engine": engine,
        "wall_s": round(wall, 1),
        "peak_rss_gb": round(peak / 2**30, 2),
        "largest_process_gb": round(largest / 2**30, 2),
    }
    if killed or child.returncode != 0:
        tail = [line for line in stderr.splitlines() if line.strip()][-3:]
        return result | {"failed": killed or f"exit {child.returncode}", "stderr_tail": tail}
    snap = snaps / (snaps / "LATEST").read_text().strip()
    manifest = json.loads((snap / "manifest.json").read_text())
    quality = evaluate(snap, world, OUT / f"bench-engines-{engine}-{legit}-eval.json")
    steps = ("ingest", "graph", "coordination", "communities", "ranking")
    return result | {
        "records": manifest["events"] + manifest["rejected"] + manifest["duplicates"],
        "edges": manifest["steps"]["coordination"]["edges"],
        "clusters": manifest["steps"]["ranking"]["clusters"],
        "steps_s": {s: manifest["timings"][s]["seconds"] for s in steps},
        "weighted_jaccard": quality["weighted_jaccard"],
        "precision_at_k": quality["precision_at_k"],
    }


def engines_parser(description: str) -> argparse.ArgumentParser:
    """The options every engine comparison takes: the world and the engines to run."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--legit", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--engines", nargs="+", default=["local", "spark"])
    parser.add_argument("--spark-master", default="local[2]")
    return parser


def main() -> None:
    parser = engines_parser(__doc__.splitlines()[0])
    parser.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--standalone-workers", type=int, default=0)
    parser.add_argument("--worker-cores", type=int, default=1)
    parser.add_argument("--worker-memory", default="3g")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    parser.add_argument("--max-rss-gb", type=float, default=20.0, help="memory cap per run")
    parser.add_argument(
        "--world-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a world setting (ringscope generate --set), e.g. mobile_hosts=2 for hub-heavy",
    )
    args = parser.parse_args()

    events = cached_world(args.legit, args.seed, args.world_set)
    with contextlib.ExitStack() as stack:
        master = args.spark_master
        if args.standalone_workers:
            cluster = StandaloneCluster(
                OUT / "spark-cluster",
                workers=args.standalone_workers,
                worker_cores=args.worker_cores,
                worker_memory=args.worker_memory,
            )
            master = stack.enter_context(cluster).master_url
        spark_args = ["--spark-master", master]
        for pair in args.spark_conf:
            spark_args += ["--spark-conf", pair]
        results = [
            _run(engine, events, args.legit, spark_args, args.timeout, args.max_rss_gb * 2**30)
            for engine in args.engines
        ]
    if args.standalone_workers:
        for result in results:
            if result["engine"] == "spark":
                result["cluster"] = (
                    f"standalone, {args.standalone_workers} workers x {args.worker_cores} "
                    f"core(s), {args.worker_memory}"
                )
    out = OUT / f"bench-engines-{events.name.removeprefix('world-')}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    sys.stdout.write(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
