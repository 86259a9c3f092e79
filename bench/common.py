"""What every benchmark script shares: where outputs go, the CLI, cached worlds.

Benchmarks run as scripts (``python bench/bench_x.py``), so this directory is first on
``sys.path`` and they import this module as ``common``.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

__all__ = ["OUT", "SECRET", "cached_world", "evaluate", "events_in_time_order", "ringscope"]

OUT = Path(__file__).resolve().parent / "out"
"""Generated worlds, snapshots and result files (git-ignored)."""

SECRET = "bench-secret-key-0123456789"
"""The operator key of every benchmark run (never a real one)."""


def ringscope(*args: str) -> None:
    """Run the real ``ringscope`` CLI in a child process; exit with its stderr on failure."""
    env = os.environ | {"RINGSCOPE_SECRET_KEY": SECRET}
    done = subprocess.run(
        [sys.executable, "-m", "ringscope.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"ringscope {' '.join(args)} failed:\n{done.stderr[-2000:]}")


def cached_world(legit: int, seed: int, settings: Sequence[str] = ()) -> Path:
    """The seeded world ``OUT/world-<legit>-<seed>``, generated on first use.

    ``settings``: other world settings as ``KEY=VALUE`` (``ringscope generate --set``);
    such a world is cached under a name that lists them.
    """
    name = "-".join([f"world-{legit}-{seed}", *(s.replace("=", "_") for s in settings)])
    path = OUT / name.replace(",", "_")
    if not (path / "truth.json").exists():
        t0 = time.perf_counter()
        sets = [arg for s in settings for arg in ("--set", s)]
        ringscope("generate", "--out", str(path), "--legit", str(legit), "--seed", str(seed), *sets)
        print(f"generated {path} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return path


def evaluate(snapshot: Path, world_dir: Path, report: Path) -> dict:
    """``ringscope evaluate`` of a snapshot against the world's truth; the JSON report."""
    ringscope(
        "evaluate",
        "--snapshot",
        str(snapshot),
        "--truth",
        str(world_dir / "truth.json"),
        "--json",
        str(report),
    )
    return json.loads(report.read_text())


def events_in_time_order(world_dir: Path) -> list[dict[str, Any]]:
    """A world's events (``events.jsonl.gz``) sorted by their timestamp, as a stream
    replay posts them."""
    with gzip.open(world_dir / "events.jsonl.gz", "rb") as fh:
        events = [orjson.loads(line) for line in fh if line.strip()]
    events.sort(key=lambda e: str(e["ts"]))
    return events
