"""Query API latency under load: /v1/clusters and /v1/clusters/{id} on loopback.

python bench/bench_api.py --legit 3000 --seed 3 [--rate 200 400] [--seconds 20]
    [--list-limit 25] [--past-verdicts 100000] [--throughput]

Generates the seeded world (once, cached under bench/out/, shared with the other
benches), runs the pipeline on its ``events.jsonl.gz`` into a snapshot root of its own
(bench/out/api/, once), creates an investigator key in the verdict store beside it and
starts the real server (uvicorn, one worker) on that root. Then, for each endpoint and
each ``--rate``, an open-loop client sends that many requests/s for ``--seconds``:

* ``list``: ``GET /v1/clusters?limit=<--list-limit>`` (25 by default);
* ``detail``: ``GET /v1/clusters/{id}``, cycling through the ids of that first page.

``--past-verdicts N`` first stores N verdicts on clusters of past snapshots (what a year
of reviews leaves; bulk-inserted, on N/4 cluster ids) and one verdict on each cluster of
the first page. ``--throughput`` adds a closed-loop row per endpoint (16 connections,
each sending its next request when the answer is in): the rate one worker sustains.

Warm-up responses must all be 200 (it stops otherwise). Prints a Markdown table for
``bench/RESULTS.md`` (latency percentiles from due time and from send time, achieved
rate, non-200 answers, server CPU per request, 1-minute load average) and writes the
same as JSON to bench/out/api/results.json. Targets for ``list``: p99 ≤ 10 ms at 500
requests/s (from due time), ≤ 1 ms server CPU per request, ≥ 2,000 requests/s closed
loop, with and without 100k past verdicts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import common
from common import SECRET, ringscope
from http_load import (
    Server,
    api_server,
    closed_loop,
    fetch,
    http_request,
    open_loop,
    percentiles,
)

OUT = common.OUT / "api"
ENDPOINTS = {"list": "/v1/clusters?limit={limit}", "detail": "/v1/clusters/{id}"}
QUANTILES = (50, 90, 99)
TARGET_P99_MS = 10.0
TARGET_CPU_MS = 1.0
TARGET_RATE = 2000.0


def _prepare(legit: int, seed: int) -> tuple[Path, Path]:
    """The world (shared with bench_run/bench_quality) and this bench's snapshot root."""
    world = common.cached_world(legit, seed)
    root = OUT / f"snapshots-{legit}-{seed}"
    if not (root / "LATEST").exists():
        print(f"running the pipeline into {root} ...", file=sys.stderr, flush=True)
        ringscope("run", str(world / "events.jsonl.gz"), "--out", str(root))
    return world, root


def _database_url(root: Path) -> str:
    """RINGSCOPE_DATABASE_URL when set, else the SQLite store beside the snapshots."""
    from ringscope.api.settings import default_database_url

    return os.environ.get("RINGSCOPE_DATABASE_URL") or default_database_url(root)


def _investigator_key(database_url: str) -> str:
    from ringscope.store import open_store

    store = open_store(database_url)
    try:
        return store.create_key(f"bench-api-{int(time.time() * 1000)}", "investigator")[1]
    finally:
        store.close()


def _past_verdicts(database_url: str, n: int, current: list[str]) -> None:
    """``n`` verdicts on clusters no snapshot holds (bulk), one on each of ``current``."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from ringscope.store import open_store
    from ringscope.store.schema import VerdictRow

    now = datetime.now(UTC)
    past = [f"cpast{i % max(n // 4, 1):08d}" for i in range(n)]
    rows = [
        {
            "cluster_id": cluster_id,
            "verdict": ("confirmed", "dismissed", "needs_more_info")[i % 3],
            "note": None,
            "investigator": "bench",
            "snapshot_id": "bench",
            "key_id": None,
            "created_at": now,
        }
        for i, cluster_id in enumerate([*past, *current])
    ]
    store = open_store(database_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(VerdictRow), rows)
    finally:
        store.close()


def _first_page(port: int, path: str, headers: dict[str, str]) -> dict[str, Any]:
    status, body = fetch(port, http_request("GET", path, port, headers))
    if status != 200:
        sys.exit(f"GET {path} answered {status}: {body[:500]!r}")
    page = json.loads(body)
    if not page["items"]:
        sys.exit(f"snapshot {page['snapshot_id']} has no clusters to ask for")
    return page


def _measure(
    server: Server,
    endpoint: str,
    path: str,
    requests: list[bytes],
    rate: float | None,
    seconds: float,
) -> dict[str, Any]:
    """One row: open loop at ``rate``, or closed loop (throughput) when it is None."""
    if rate is None:
        result = asyncio.run(closed_loop(server.port, requests, seconds, server_pid=server.pid))
    else:
        result = asyncio.run(open_loop(server.port, requests, rate, seconds, server_pid=server.pid))
    if result.warmup:
        status, body = result.warmup[0]
        sys.exit(
            f"{endpoint}: {len(result.warmup)} warm-up responses were not 200; "
            f"first: {status} {body[:500]!r}"
        )
    cpu = result.server_cpu_s or 0.0
    return {
        "endpoint": endpoint,
        "path": path,
        "distinct_requests": len(requests),
        "rate": rate if rate is not None else "closed",
        "achieved_rate": round(result.achieved_rate, 1),
        "seconds": seconds,
        "requests": result.requests,
        "errors": result.errors,
        "error_statuses": {str(k): v for k, v in sorted(result.error_statuses.items())},
        "from_due_ms": percentiles(result.from_due, QUANTILES),
        "from_send_ms": percentiles(result.from_send, QUANTILES),
        "server_cpu_s": round(cpu, 2),
        "server_cpu_ms_per_request": round(cpu * 1000 / max(result.requests, 1), 3),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def _table(rows: list[dict[str, Any]]) -> None:
    print(
        "| endpoint | rate/s | achieved/s | requests | non-200 "
        "| p50 / p90 / p99 / max from due (ms) | p50 / p99 from send (ms) "
        f"| server CPU ms/req | load 1m | p99 ≤ {TARGET_P99_MS:g} ms |"
    )
    print("|---" * 10 + "|")
    for r in rows:
        due, send = r["from_due_ms"], r["from_send_ms"]
        if r["rate"] == "closed":
            ok = "n/a (closed loop)"
        else:
            ok = "yes" if due["p99"] <= TARGET_P99_MS else "no"
        print(
            f"| `GET {r['path']}` | {r['rate']} | {r['achieved_rate']} | {r['requests']} "
            f"| {r['errors']} | {due['p50']} / {due['p90']} / {due['p99']} / {due['max']} "
            f"| {send['p50']} / {send['p99']} | {r['server_cpu_ms_per_request']} "
            f"| {r['loadavg_1m']} | {ok} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legit", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--rate", type=float, nargs="+", default=[200.0], help="requests/s")
    parser.add_argument("--seconds", type=float, default=20.0, help="per endpoint and rate")
    parser.add_argument("--endpoints", nargs="+", choices=list(ENDPOINTS), default=list(ENDPOINTS))
    parser.add_argument("--list-limit", type=int, default=25, help="page size of `list`")
    parser.add_argument("--past-verdicts", type=int, default=0, help="verdicts stored first")
    parser.add_argument("--throughput", action="store_true", help="add closed-loop rows")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    _, root = _prepare(args.legit, args.seed)
    database_url = _database_url(root)
    env = {
        "RINGSCOPE_SECRET_KEY": SECRET,
        "RINGSCOPE_SNAPSHOT_ROOT": str(root),
        "RINGSCOPE_DATABASE_URL": database_url,
    }
    rows = []
    list_path = ENDPOINTS["list"].format(limit=args.list_limit)
    with api_server(env) as server:
        headers = {"Authorization": f"Bearer {_investigator_key(database_url)}"}
        page = _first_page(server.port, list_path, headers)
        ids = [item["cluster_id"] for item in page["items"]]
        if args.past_verdicts:
            _past_verdicts(database_url, args.past_verdicts, ids)
            page = _first_page(server.port, list_path, headers)
        paths = {"list": [list_path], "detail": [ENDPOINTS["detail"].format(id=i) for i in ids]}
        rates: list[float | None] = [*args.rate, *([None] if args.throughput else [])]
        for endpoint in args.endpoints:
            requests = [http_request("GET", p, server.port, headers) for p in paths[endpoint]]
            for rate in rates:
                row = _measure(server, endpoint, paths[endpoint][0], requests, rate, args.seconds)
                print(json.dumps(row), file=sys.stderr, flush=True)
                rows.append(row)
    report = {
        "legit": args.legit,
        "seed": args.seed,
        "snapshot_id": page["snapshot_id"],
        "clusters": page["total"],
        "detail_ids": len(ids),
        "past_verdicts": args.past_verdicts,
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "target_p99_ms": TARGET_P99_MS,
        "results": rows,
    }
    (OUT / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    print(
        f"legit={args.legit}, seed {args.seed}, snapshot {page['snapshot_id']} "
        f"({page['total']} clusters), {args.past_verdicts} past verdicts, "
        f"{args.seconds:g} s per row, {os.cpu_count()} CPUs, "
        "one uvicorn worker, client on the same machine\n"
    )
    _table(rows)
    print(f"\nwritten {OUT / 'results.json'}")


if __name__ == "__main__":
    main()
