"""Compaction of a stream root: what ``ringscope compact`` saves and costs.

python bench/bench_compact.py [ROOT]     # default: bench/out/stream/root (bench_stream.py)

Copies the stream root twice (bench/out/compact/{before,after}), compacts one copy with
the real CLI (``ringscope compact --verify --json``, timed), then in a fresh process per
copy runs two micro-batches (``run_stream_batch``, as the server's worker does): the
first fits the risk model (a new process holds none), the second keeps it. Prints the
segments, bytes and cache entries before and after, the compaction's seconds, the time
a restarted server spends opening the log (repair, key index) and the batch times of
both copies (with the ranking step and the time outside the pipeline steps: reading the
cached ingest of each segment and merging it). ``--interleaved`` also runs both copies
in one process (a fit each, then eight kept batches alternating which goes first), which
takes the process and the load out of the comparison. Writes
bench/out/compact/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import common
from common import SECRET

OUT = common.OUT / "compact"

_BATCHES = """
import json, sys, time
from pathlib import Path
from ringscope.snapshot import read_manifest
from ringscope.stream.batch_run import run_stream_batch
root = Path(sys.argv[1])
out = []
for _ in range(2):
    t = time.perf_counter()
    snapshot = run_stream_batch(root)
    manifest = read_manifest(snapshot)
    risk = manifest["steps"]["ranking"]["risk_model"].get("stream", {})
    steps = {k: round(v["seconds"], 2) for k, v in manifest["timings"].items()}
    out.append({"seconds": round(time.perf_counter() - t, 2), "refit": risk.get("refit"),
                "why": risk.get("why"), "steps": steps})
print(json.dumps(out))
"""


_INTERLEAVED = """
import json, sys, time
from pathlib import Path
from ringscope.snapshot import read_manifest
from ringscope.stream.batch_run import run_stream_batch
roots = {"before": Path(sys.argv[1]), "after": Path(sys.argv[2])}
out = []
def one(name):
    t = time.perf_counter()
    manifest = read_manifest(run_stream_batch(roots[name]))
    risk = manifest["steps"]["ranking"]["risk_model"].get("stream", {})
    out.append({"copy": name, "seconds": round(time.perf_counter() - t, 2),
                "ranking_s": round(manifest["timings"]["ranking"]["seconds"], 2),
                "refit": risk.get("refit")})
for name in ("before", "after"):
    one(name)
for i in range(4):
    for name in (("before", "after") if i % 2 == 0 else ("after", "before")):
        one(name)
print(json.dumps(out))
"""


def _batches(root: Path, env: dict) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-c", _BATCHES, str(root)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _open_seconds(root: Path) -> float:
    """What a restarted server spends opening the log (repair, key index): best of 3."""
    from ringscope.stream.log import EventLog

    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        EventLog(root).open().close()
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", nargs="?", type=Path, default=common.OUT / "stream" / "root")
    parser.add_argument(
        "--interleaved",
        action="store_true",
        help="also run both copies in one process: a fit each, then 8 kept batches alternating",
    )
    parser.add_argument(
        "--after-first",
        action="store_true",
        help="run the compacted copy's batches first (to see an order effect)",
    )
    args = parser.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    before, after = OUT / "before", OUT / "after"
    for copy in (before, after):
        shutil.copytree(args.root, copy, ignore=shutil.ignore_patterns("lock"))
    env = os.environ | {"RINGSCOPE_SECRET_KEY": SECRET}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ringscope.cli", "compact", str(after), "--verify", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    report = json.loads(done.stdout)
    results = {
        "root": str(args.root),
        "compact": report,
        "compact_wall_s": round(wall, 2),
    }
    order = ("after", "before") if args.after_first else ("before", "after")
    for name in order:
        results[f"open_s_{name}"] = _open_seconds(OUT / name)
    for name in order:
        results[f"batches_{name}"] = _batches(OUT / name, env)
    if args.interleaved:
        done = subprocess.run(
            [sys.executable, "-c", _INTERLEAVED, str(before), str(after)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        results["interleaved"] = json.loads(done.stdout.strip().splitlines()[-1])
    results |= {
        "load_avg": os.getloadavg(),
    }
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    r = report
    print(
        f"compact: {r['events']:,} events; segments {r['segments_before']} -> "
        f"{r['segments_after']} ({r['segment_bytes_before']:,} -> "
        f"{r['segment_bytes_after']:,} bytes); cache entries {r['cache_entries_before']} -> "
        f"{r['cache_entries_after']} ({r['cache_bytes_before']:,} -> "
        f"{r['cache_bytes_after']:,} bytes); duplicates dropped {r['duplicates_dropped']}; "
        f"verified {r['verified']}; {r['seconds']} s inside, {wall:.2f} s wall"
    )
    for name in ("before", "after"):
        runs = results[f"batches_{name}"]
        print(
            f"batches on the root {name} compaction: "
            + ", ".join(
                f"{b['seconds']} s ({'fitted' if b['refit'] else 'kept'}; ranking "
                f"{b['steps']['ranking']} s, outside the steps (ingest from the cache, "
                f"merge) {b['seconds'] - sum(b['steps'].values()):.2f} s)"
                for b in runs
            )
        )
    print(
        f"opening the log at a restart (best of 3): {results['open_s_before']} s before, "
        f"{results['open_s_after']} s after"
    )
    for name in ("before", "after") if args.interleaved else ():
        kept = [b["seconds"] for b in results["interleaved"] if b["copy"] == name][1:]
        print(
            f"one process, interleaved, {name}: kept batches {kept} s "
            f"(mean {sum(kept) / len(kept):.2f})"
        )
    print(f"load average: {results['load_avg']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
