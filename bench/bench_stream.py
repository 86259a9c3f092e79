"""Streaming: replay a world through ``POST /v1/events`` in time order at a target rate.

python bench/bench_stream.py --legit 3000 --seed 3 [--rate 2000] [--chunk 500]
    [--batch-interval 5] [--probes 300] [--kill-at 0.5]

Generates the seeded world (cached under bench/out/, shared with the other benches),
sorts its events by time and starts the real server with ingest on an empty root
(uvicorn, one worker: ``RINGSCOPE_INGEST=1``). An open-loop sender posts ``--chunk``
events at a time so that ``--rate`` events/s go in on average; a 429 is waited out
(``Retry-After``) and counted. Measured:

* **event -> actor visible**: for up to ``--probes`` actors, sampled evenly over the
  replay, the time from the 202 of the request that carried the actor's first event
  until ``GET /v1/actors/{id}`` answers 200 (polled after every new snapshot);
* **event -> ring member in its cluster**: the same for ring members (truth.json) until
  the actor's ``cluster_id`` is set;
* **micro-batch cost against history**: every batch's wall time, events read, the
  seconds of its graph, coordination, communities and ranking steps, and whether it
  fitted the risk model or kept it (``ROOT/stream/batches.jsonl``);
* **memory**: the summed RSS of the server and its batch process, and the server's
  alone (what it holds between batches: the key index lived there), sampled every second;
* the same world as one batch run: ring Jaccard of the final streamed snapshot and of
  the batch run (``ringscope evaluate``);
* **ring members 60 s after the last event**: the share of the world's ring members
  (those with events) whose ``GET /v1/actors/{id}`` names a cluster 60 s after the 202 of
  the last request;
* **acknowledged = published**: events acknowledged as new (``accepted - duplicates``
  over all 202 answers) against the stream log and the final snapshot's run.

``--kill-at F``: after the share ``F`` of the events (at a chunk boundary) the server is
killed with SIGKILL (``kill -9``), restarted on the same root and port, and the client
re-sends its last chunk (as a client that never saw the 202 would) before going on; the
downtime, the restart time and any process of the killed server left alive are reported.

Prints a Markdown summary and writes everything to bench/out/stream/results.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import common
import httpx
import orjson
from common import SECRET, ringscope
from http_load import api_server, free_port, percentiles

from ringscope.lifetime import live_group_members
from ringscope.store import open_store

OUT = common.OUT / "stream"
#: the pipeline steps whose seconds per batch are reported against history
_STEPS = ("graph", "coordination", "communities", "ranking")


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class Watcher(threading.Thread):
    """Polls for new snapshots; resolves probes; samples memory."""

    def __init__(self, base: str, headers: dict, pid: int, ring_members: set[str]) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=base, headers=headers, timeout=30)
        self.pid = pid
        self.ring_members = ring_members
        self.pending: dict[str, float] = {}  # actor -> time its first event was acked
        self.pending_cluster: dict[str, float] = {}
        self.visible_ms: list[float] = []
        self.clustered_ms: list[float] = []
        self.memory: list[tuple[float, float]] = []
        self.server_memory: list[float] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.snapshot: str | None = None

    def probe(self, actor: str, acked_at: float) -> None:
        with self.lock:
            self.pending.setdefault(actor, acked_at)
            if actor in self.ring_members:
                self.pending_cluster.setdefault(actor, acked_at)

    def run(self) -> None:
        while not self.stop.is_set():
            # The server leads its own process group (its batch worker is in it).
            self.memory.append((time.time(), _rss_mb(live_group_members(self.pid))))
            self.server_memory.append(_rss_mb([self.pid]))
            try:
                stats = self.client.get("/v1/stats")
                if stats.status_code == 200:
                    sid = stats.json()["snapshot_id"]
                    if sid != self.snapshot:
                        self.snapshot = sid
                        self._resolve()
            except httpx.TransportError:
                pass  # the server is down (killed on purpose) or restarting: poll again
            self.stop.wait(0.5)

    def _resolve(self) -> None:
        with self.lock:
            pending = dict(self.pending)
            pending_cluster = dict(self.pending_cluster)
        for actor, acked in pending.items():
            answer = self.client.get(f"/v1/actors/{actor}")
            if answer.status_code != 200:
                continue
            now = time.monotonic()
            with self.lock:
                self.pending.pop(actor, None)
                self.visible_ms.append((now - acked) * 1000)
                if actor in pending_cluster and answer.json().get("cluster_id"):
                    self.pending_cluster.pop(actor, None)
                    self.clustered_ms.append((now - pending_cluster[actor]) * 1000)
        for actor, acked in pending_cluster.items():
            if actor in pending:
                continue
            answer = self.client.get(f"/v1/actors/{actor}")
            if answer.status_code == 200 and answer.json().get("cluster_id"):
                with self.lock:
                    if self.pending_cluster.pop(actor, None) is not None:
                        self.clustered_ms.append((time.monotonic() - acked) * 1000)


def _replay(
    base: str, headers: dict, events: list[dict], args: argparse.Namespace, watcher: Watcher
) -> dict[str, Any]:
    """Post ``events`` open-loop at ``args.rate``; returns counts and the achieved rate."""
    client = httpx.Client(base_url=base, headers=headers, timeout=120)
    seen: set[str] = set()
    firsts = []
    for i, e in enumerate(events):
        if e["actor_id"] not in seen:
            seen.add(e["actor_id"])
            firsts.append(i)
    step = max(1, len(firsts) // args.probes)
    probe_at = {firsts[j]: events[firsts[j]]["actor_id"] for j in range(0, len(firsts), step)}
    refused = accepted = duplicates = 0
    acked = start = time.monotonic()
    for k in range(0, len(events), args.chunk):
        due = start + k / args.rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        chunk = events[k : k + args.chunk]
        while True:
            answer = client.post("/v1/events", content=orjson.dumps(chunk))
            if answer.status_code != 429:
                break
            refused += 1
            time.sleep(float(answer.headers.get("retry-after", "1")))
        answer.raise_for_status()
        body = answer.json()
        accepted += body["accepted"]
        duplicates += body["duplicates"]
        acked = time.monotonic()
        for i in range(k, k + len(chunk)):
            if i in probe_at:
                watcher.probe(probe_at[i], acked)
    seconds = time.monotonic() - start
    return {
        "events": len(events),
        "accepted": accepted,
        "duplicates": duplicates,
        "refused_429": refused,
        "seconds": round(seconds, 1),
        "achieved_rate": round(len(events) / seconds, 1),
        "last_ack": acked,
    }


def _kill(server: Any) -> dict[str, Any]:
    """``kill -9`` the server; wait for its process group (the batch worker) to go."""
    killed_at = time.monotonic()
    os.kill(server.pid, signal.SIGKILL)
    server.process.wait()
    deadline = killed_at + 10
    while live_group_members(server.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return {"killed_at": killed_at, "left_alive": len(live_group_members(server.pid))}


def _killed_replay(
    stack: contextlib.ExitStack,
    server: Any,
    env: dict[str, str],
    base: str,
    headers: dict,
    events: list[dict],
    args: argparse.Namespace,
    watcher: Watcher,
) -> dict[str, Any]:
    """Replay up to ``--kill-at``, kill -9 the server, restart it, re-send, go on."""
    cut = max(args.chunk, int(len(events) * args.kill_at) // args.chunk * args.chunk)
    first = _replay(base, headers, events[:cut], args, watcher)
    kill = _kill(server)
    restarted = stack.enter_context(api_server(env, port=server.port, timeout_s=180))
    watcher.pid = restarted.pid
    restart_s = time.monotonic() - kill["killed_at"]
    second = _replay(base, headers, events[cut - args.chunk :], args, watcher)
    return {
        "events": len(events),
        "accepted": first["accepted"] + second["accepted"],
        "duplicates": first["duplicates"] + second["duplicates"],
        "refused_429": first["refused_429"] + second["refused_429"],
        "seconds": round(first["seconds"] + second["seconds"], 1),
        "achieved_rate": round(len(events) / (first["seconds"] + second["seconds"]), 1),
        "last_ack": second["last_ack"],
        "killed_after_events": cut,
        "resent_events": args.chunk,
        "restart_s": round(restart_s, 1),
        "left_alive_after_kill": kill["left_alive"],
    }


def _clustered_share(base: str, headers: dict, members: set[str]) -> dict[str, Any]:
    """How many of ``members`` ``GET /v1/actors/{id}`` puts in a cluster right now."""
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        clustered = sum(
            1
            for actor in sorted(members)
            if (answer := client.get(f"/v1/actors/{actor}")).status_code == 200
            and answer.json().get("cluster_id")
        )
    return {"members": len(members), "clustered": clustered, "share": clustered / len(members)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legit", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--rate", type=float, default=2000.0, help="events per second")
    parser.add_argument("--chunk", type=int, default=500, help="events per request")
    parser.add_argument("--batch-interval", type=float, default=5.0)
    parser.add_argument("--probes", type=int, default=300)
    parser.add_argument("--drain-timeout", type=float, default=900.0)
    parser.add_argument(
        "--kill-at", type=float, default=None, help="kill -9 the server after this share"
    )
    args = parser.parse_args()

    world = common.cached_world(args.legit, args.seed)
    events = common.events_in_time_order(world)
    truth = json.loads((world / "truth.json").read_text())
    ring_members = {a for ring in truth["rings"] for a in ring["members"]}
    members_with_events = ring_members & {e["actor_id"] for e in events}

    root = OUT / "root"
    shutil.rmtree(OUT, ignore_errors=True)
    root.mkdir(parents=True)
    store = open_store(f"sqlite:///{root / 'ringscope.sqlite3'}")
    secret = store.create_key("bench", "admin")[1]
    store.close()
    headers = {"Authorization": f"Bearer {secret}"}
    env = {
        "RINGSCOPE_SNAPSHOT_ROOT": str(root),
        "RINGSCOPE_SECRET_KEY": SECRET,
        "RINGSCOPE_INGEST": "1",
        "RINGSCOPE_BATCH_INTERVAL_S": str(args.batch_interval),
        "RINGSCOPE_RELOAD_INTERVAL_S": "0.5",
    }
    load_before = os.getloadavg()
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(api_server(env, port=free_port()))
        base = f"http://{server.host}:{server.port}"
        watcher = Watcher(base, headers, server.pid, ring_members)
        watcher.start()
        if args.kill_at is None:
            replay = _replay(base, headers, events, args, watcher)
        else:
            replay = _killed_replay(stack, server, env, base, headers, events, args, watcher)
        load_during = os.getloadavg()
        time.sleep(max(0.0, replay["last_ack"] + 60 - time.monotonic()))
        after_60s = _clustered_share(base, headers, members_with_events)
        deadline = time.monotonic() + args.drain_timeout
        while time.monotonic() < deadline:
            with watcher.lock:
                left = len(watcher.pending) + len(watcher.pending_cluster)
            stats = httpx.get(f"{base}/v1/stats", headers=headers, timeout=30)
            if stats.status_code == 200 and stats.json()["stream"]["backlog"] == 0 and not left:
                break
            time.sleep(1)
        watcher.stop.set()
        watcher.join()
        final_stats = httpx.get(f"{base}/v1/stats", headers=headers, timeout=30).json()
    batches = [
        orjson.loads(x) for x in (root / "stream" / "batches.jsonl").read_bytes().split(b"\n") if x
    ]
    batch_root = OUT / "batch"
    ringscope("run", str(world / "events.jsonl.gz"), "--out", str(batch_root))
    jaccard = {
        "stream": common.evaluate(root, world, OUT / "eval-stream.json")["weighted_jaccard"],
        "batch": common.evaluate(batch_root, world, OUT / "eval-batch.json")["weighted_jaccard"],
    }
    memory = [mb for _, mb in watcher.memory]
    quarter = max(1, len(memory) // 4)
    server = [mb for mb in watcher.server_memory if mb > 0]  # 0: killed, not yet back
    results = {
        "world": {"legit": args.legit, "seed": args.seed, "events": len(events)},
        "args": vars(args),
        "replay": replay,
        "visible_ms": percentiles(watcher.visible_ms, (50, 90, 99)),
        "visible_n": len(watcher.visible_ms),
        "unresolved_probes": len(watcher.pending),
        "clustered_ms": percentiles(watcher.clustered_ms, (50, 90, 99))
        if watcher.clustered_ms
        else None,
        "clustered_n": len(watcher.clustered_ms),
        "ring_members_never_clustered": len(watcher.pending_cluster),
        "batches": [
            {
                "log_events": b["log_events"],
                "seconds": b["seconds"],
                "ok": b["ok"],
                **{f"{step}_s": b.get("steps", {}).get(step) for step in _STEPS},
                "risk_refit": b.get("risk_refit"),
                "risk_refit_why": b.get("risk_refit_why"),
            }
            for b in batches
        ],
        "memory_mb": {
            "max_first_quarter": max(memory[:quarter]) if memory else None,
            "max_last_quarter": max(memory[-quarter:]) if memory else None,
            "max": max(memory) if memory else None,
            "server_max_first_quarter": max(server[:quarter]) if server else None,
            "server_max_last_quarter": max(server[-quarter:]) if server else None,
            "server_max": max(server) if server else None,
        },
        "ring_jaccard": jaccard,
        "ring_members_clustered_60s_after_last_event": after_60s,
        "acknowledged_new": replay["accepted"] - replay["duplicates"],
        "final_stats_run": final_stats["run"],
        "final_stats_stream": final_stats["stream"],
        "load_avg": {"before": load_before, "during_replay": load_during, "after": os.getloadavg()},
        "cpus": os.cpu_count(),
    }
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    _print(results)


def _print(r: dict[str, Any]) -> None:
    rp = r["replay"]
    print(
        f"world: {r['world']['events']:,} events; replay {rp['seconds']} s at "
        f"{rp['achieved_rate']:,} events/s (target {r['args']['rate']:,}); "
        f"429 answers: {rp['refused_429']}; duplicates: {rp['duplicates']}"
    )
    print(
        f"event -> actor visible (n={r['visible_n']}): {r['visible_ms']} ms; "
        f"unresolved {r['unresolved_probes']}"
    )
    print(
        f"event -> ring member in a cluster (n={r['clustered_n']}): {r['clustered_ms']} ms; "
        f"never clustered {r['ring_members_never_clustered']}"
    )
    steps = " | ".join(f"{s} s" for s in _STEPS)
    print(f"| batch | events read | seconds | {steps} | risk model |")
    print("|---" * (len(_STEPS) + 4) + "|")
    for i, b in enumerate(r["batches"], 1):
        fit = {True: f"fitted: {b['risk_refit_why']}", False: "kept", None: "-"}[b["risk_refit"]]
        cost = " | ".join(str(b[f"{s}_s"]) for s in _STEPS)
        print(f"| {i} | {b['log_events']:,} | {b['seconds']} | {cost} | {fit} |")
    if "restart_s" in rp:
        print(
            f"kill -9 after {rp['killed_after_events']:,} events; restarted in "
            f"{rp['restart_s']} s; processes of the killed server left: "
            f"{rp['left_alive_after_kill']}; re-sent {rp['resent_events']} events"
        )
    share = r["ring_members_clustered_60s_after_last_event"]
    print(
        f"ring members in a cluster 60 s after the last event: {share['clustered']} of "
        f"{share['members']} ({share['share']:.1%})"
    )
    print(
        f"acknowledged as new: {r['acknowledged_new']:,}; stream log: "
        f"{r['final_stats_stream']['log_events']:,}; final snapshot run: {r['final_stats_run']}"
    )
    print(f"memory (server + batch, MB): {r['memory_mb']}")
    print(
        f"ring Jaccard: stream {r['ring_jaccard']['stream']:.3f}, "
        f"batch {r['ring_jaccard']['batch']:.3f}"
    )
    print(f"load average: {r['load_avg']}")


if __name__ == "__main__":
    sys.exit(main())
