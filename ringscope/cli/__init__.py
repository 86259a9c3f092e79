"""The ``ringscope`` command line.

Each command group lives in its own module with a ``register(sub)`` function that adds
its sub-commands and sets ``func`` on them; :data:`COMMAND_MODULES` lists those modules.
Errors a user can fix print as one line on stderr with exit status 2; ``--verbose`` adds
logging and, for unexpected failures, the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
from collections.abc import Sequence

# numpy asks the kernel for transparent huge pages on its large arrays (madvise); after
# ingest has churned gigabytes, those faults stalled the graph step for seconds (2M
# records: 5-10 s, 4.9-5.1 s without). Set before numpy loads; an operator's value wins.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
# Polars' allocator (jemalloc) keeps freed pages resident for ~1.5 s by default (0.5 s
# dirty, then 1 s lazily freed, still counted in RSS), so a step that frees and allocates
# gigabytes within a second holds both: the ingest's sort of 2M records rose 0.8-1.0 GB
# over the table it sorts, 0.5 GB with pages returned after 0.1 s (returning them at
# once cost seconds of page faults in the graph and coordination steps). Set before
# Polars loads (it puts its defaults first); an operator's value wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:100,muzzy_decay_ms:0")

from ringscope.cli.console import err
from ringscope.errors import RingscopeError

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

COMMAND_MODULES: tuple[str, ...] = (
    "ringscope.cli.pipeline_commands",
    "ringscope.cli.signup_commands",
    "ringscope.cli.api_commands",
    "ringscope.cli.stream_commands",
    "ringscope.cli.mail_commands",
    "ringscope.cli.sharing_commands",
    "ringscope.cli.model_commands",
    "ringscope.cli.flag_commands",
    "ringscope.cli.verdict_commands",
    "ringscope.cli.spark_commands",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    parser = argparse.ArgumentParser(
        prog="ringscope", description="Find, explain and stop coordinated bad-actor rings."
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ringscope`` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except RingscopeError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False, markup=True)
        return 2
    except KeyboardInterrupt:
        err.print("[red]interrupted[/]")
        return 130
    except Exception as exc:  # one line for users; the traceback with --verbose
        if args.verbose:
            raise
        err.print(f"[red]internal error:[/] {type(exc).__name__}: {exc} (rerun with -v)")
        return 1
