"""The micro-batcher's worker process: runs one micro-batch per line it reads.

``python -m ringscope.stream.child PARENT_PID`` arms ``PR_SET_PDEATHSIG`` (so it ends
with the server that started it, even on ``kill -9``; armed here, in the child's own
interpreter, rather than between ``fork`` and ``exec`` of a threaded server), then
reads JSON lines from stdin, each the arguments of :func:`.batch_run.run_stream_batch`
(``root``, ``config``, ``demo_key``; with ``"compact": true``, a compaction of the root
instead, :func:`.compact.compact`, under the server's lock), runs it and answers one
JSON line ``{"rc": <status>}`` (a compaction adds ``"report"``) on stdout: 0 done,
2 an error a user can fix (the message is logged), 1 anything else (with its
traceback). One worker serves many batches, so the interpreter start and the imports
are paid once, and before its first job: a worker imports what a batch needs while it
waits (the batcher starts a replacement as soon as it retires one). Everything else it
prints goes to stderr, which the batcher appends to ``ROOT/stream/batches.log``.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from pathlib import Path

import orjson

from ringscope.lifetime import die_with_parent

log = logging.getLogger("ringscope.stream.child")

#: what a batch imports, some of it only on first use (the community libraries), loaded
#: before the first job so that a new worker's first batch does not wait for it (several
#: seconds of a batch's latency otherwise)
_PRELOAD = ("ringscope.stream.batch_run", "ringscope.stream.compact", "igraph", "leidenalg")


def _compact(job: dict) -> dict:
    from ringscope.errors import RingscopeError
    from ringscope.privacy import load_keyring
    from ringscope.stream.compact import compact

    try:
        keyring = load_keyring(allow_demo=bool(job.get("demo_key")))
        report = compact(Path(job["root"]), keyring=keyring, locked=True)
    except RingscopeError as exc:
        log.error("compaction failed: %s", exc)
        return {"rc": 2}
    except Exception:
        log.exception("compaction failed")
        return {"rc": 1}
    log.warning(
        "compacted %d sealed segments into %d in %.1f s",
        report.segments_before,
        report.segments_after,
        report.seconds,
    )
    return {"rc": 0, "report": report.as_dict()}


def _run(job: dict) -> int:
    from ringscope.errors import RingscopeError
    from ringscope.stream.batch_run import run_stream_batch

    try:
        snapshot = run_stream_batch(
            Path(job["root"]),
            config=Path(job["config"]) if job.get("config") else None,
            demo_key=bool(job.get("demo_key")),
        )
    except RingscopeError as exc:
        log.error("micro-batch failed: %s", exc)
        return 2
    except Exception:
        log.exception("micro-batch failed")
        return 1
    log.warning("published %s", snapshot.name)
    return 0


def main(argv: list[str]) -> int:
    """Arm the parent-death signal, then run each micro-batch read from stdin."""
    die_with_parent(int(argv[0]))
    # answers go to the original stdout; whatever else is printed goes to stderr
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")  # as the CLI does (see cli)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in _PRELOAD:
        importlib.import_module(name)
    for line in sys.stdin:
        if line.strip():
            job = orjson.loads(line)
            answer = _compact(job) if job.get("compact") else {"rc": _run(job)}
            sys.stdout.flush()
            sys.stderr.flush()
            answers.write(orjson.dumps(answer).decode() + "\n")
            answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
