"""``python -m ringscope.stream.child PARENT_PID ARGS...``: ``ringscope ARGS`` that ends
with the server that started it, even when the server is killed with ``kill -9``.

The micro-batcher runs each batch as this child process. Arming ``PR_SET_PDEATHSIG``
here, in the child's own interpreter, avoids running Python between ``fork`` and
``exec`` of a threaded server (``preexec_fn``), which is not safe.
"""

from __future__ import annotations

import sys

from ringscope.lifetime import die_with_parent


def main(argv: list[str]) -> int:
    """Arm the parent-death signal, then run the ``ringscope`` command line."""
    die_with_parent(int(argv[0]))
    from ringscope.cli import main as cli_main

    return cli_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
