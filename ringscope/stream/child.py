"""The micro-batcher's worker process: runs ``ringscope`` commands sent one per line.

``python -m ringscope.stream.child PARENT_PID`` arms ``PR_SET_PDEATHSIG`` (so it ends
with the server that started it, even on ``kill -9``; armed here, in the child's own
interpreter, rather than between ``fork`` and ``exec`` of a threaded server), then
reads JSON lines from stdin, each a ``ringscope`` argument list, runs it in this
process and answers one JSON line ``{"rc": <exit status>}`` on stdout. One worker
serves many batches, so the interpreter start and the imports (seconds of each batch
on a busy machine) are paid once; the batcher replaces it every few batches so the
memory a run leaves behind is returned. Command output goes to stderr, which the
batcher sends to ``ROOT/stream/batches.log``.
"""

from __future__ import annotations

import os
import sys

import orjson

from ringscope.lifetime import die_with_parent


def main(argv: list[str]) -> int:
    """Arm the parent-death signal, then run each command read from stdin."""
    die_with_parent(int(argv[0]))
    # answers go to the original stdout; whatever a command prints goes to stderr
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    from ringscope.cli import main as cli_main

    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            rc = cli_main(orjson.loads(line))
        except SystemExit as exc:  # argparse errors
            rc = exc.code if isinstance(exc.code, int) else 2
        sys.stdout.flush()
        sys.stderr.flush()
        answers.write(orjson.dumps({"rc": rc}).decode() + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
