"""The ingest log's idempotency index at a large history: append rate, memory, restart.

python bench/bench_stream_keys.py [--events 2000000] [--chunk 500] [--segment 20000]

Builds a stream root of ``--events`` synthetic login events through
:meth:`EventLog.append` (``--chunk`` events per append, as one ``POST /v1/events`` stores
them; sealed every ``--segment`` events, as micro-batches seal), then, each in a fresh
process (a restarted server): opens the log, posts one chunk of already logged events
(all must come back as duplicates) and one of new ones, and reports the open time and
the process's RSS before and after opening. Nine in ten events carry an ``event_id``
(random-looking, as UUIDs are), the rest are keyed by content hash.

Measures the log alone (no HTTP, no validation: :class:`CheckedEvents` are made
directly), so it runs against any version of ``ringscope.stream.log`` that has the same
API: put that version first on ``PYTHONPATH`` to compare. Prints JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import common

from ringscope.ingest.rejects import empty_rejects
from ringscope.stream.check import CheckedEvents, canonical_line, event_key
from ringscope.stream.log import EventLog

OUT = common.OUT / "stream-keys"


def _event(i: int) -> dict:
    event = {
        "ts": f"2026-03-{1 + i // 86_400 % 28:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:"
        f"{i % 60:02d}Z",
        "actor_id": f"acct-{i % 50_000:05d}",
        "event_type": "login",
        "ip": f"10.{i // 65_536 % 256}.{i // 256 % 256}.{i % 256}",
    }
    if i % 10:
        digest = hashlib.blake2b(i.to_bytes(8, "little"), digest_size=16).hexdigest()
        event["event_id"] = (
            f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:]}"
        )
    return event


def _checked(first: int, n: int) -> CheckedEvents:
    accepted = []
    for pos, i in enumerate(range(first, first + n)):
        event = _event(i)
        line = canonical_line(event)
        accepted.append((pos, line, event_key(event, line)))
    return CheckedEvents(accepted, empty_rejects())


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def build(root: Path, events: int, chunk: int, segment: int) -> dict:
    """Append ``events`` events; the append rate per tenth of the history."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    log = EventLog(root).open()
    rates = []
    tenth = max(chunk, events // 10 // chunk * chunk)
    started = mark = time.perf_counter()
    for first in range(0, events, chunk):
        checked = _checked(first, min(chunk, events - first))
        stored = log.append(checked)
        assert stored.stored == len(checked.accepted), stored
        if (first + chunk) % segment == 0:
            log.seal()
        if (first + chunk) % tenth == 0:
            now = time.perf_counter()
            rates.append({"history": first + chunk, "events_per_s": round(tenth / (now - mark))})
            mark = now
    total = time.perf_counter() - started
    log.close()
    return {"seconds": round(total, 1), "rate_by_history": rates, "rss_mb_after": _rss_mb()}


def restart(root: Path, events: int, chunk: int) -> dict:
    """Open the log (a restarted server), then one chunk of duplicates and one new."""
    before = _rss_mb()
    started = time.perf_counter()
    log = EventLog(root).open()
    open_s = time.perf_counter() - started
    after_open = _rss_mb()
    assert log.total == events, (log.total, events)
    started = time.perf_counter()
    again = log.append(_checked(events - 10 * chunk, chunk))  # logged long ago: duplicates
    duplicate_s = time.perf_counter() - started
    started = time.perf_counter()
    new = log.append(_checked(events, chunk))
    new_s = time.perf_counter() - started
    log.close()
    assert (again.stored, again.duplicates, new.stored) == (0, chunk, chunk)
    return {
        "open_s": round(open_s, 3),
        "rss_mb_before_open": round(before, 1),
        "rss_mb_after_open": round(after_open, 1),
        "duplicate_chunk_ms": round(duplicate_s * 1000, 1),
        "new_chunk_ms": round(new_s * 1000, 1),
    }


def _restart_in_child(root: Path, events: int, chunk: int) -> dict:
    command = [sys.executable, __file__, "--restart", "--root", str(root), "--events", str(events)]
    done = subprocess.run(
        [*command, "--chunk", str(chunk)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--segment", type=int, default=20_000, help="events per sealed segment")
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--root", type=Path, default=OUT / "root")
    parser.add_argument(
        "--restart",
        action="store_true",
        help="only open the existing --root of --events events once, as a restart does",
    )
    args = parser.parse_args()
    if args.restart:
        print(json.dumps(restart(args.root, args.events, args.chunk)))
        return
    root = args.root
    built = build(root, args.events, args.chunk, args.segment)
    results = {"args": vars(args) | {"root": str(root)}, "build": built, "restarts": []}
    for i in range(args.restarts):  # each adds one new chunk
        results["restarts"].append(
            _restart_in_child(root, args.events + i * args.chunk, args.chunk)
        )
    results["disk_bytes"] = {p.name: p.stat().st_size for p in (root / "stream").glob("keys*")}
    results["log_bytes"] = sum(p.stat().st_size for p in root.rglob("seg-*.jsonl"))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
