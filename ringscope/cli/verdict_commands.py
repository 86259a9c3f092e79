"""Bulk verdict commands: ``verdicts import`` and ``verdicts export``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ringscope.cli.console import err
from ringscope.errors import RingscopeError

__all__ = ["register"]


def _store(args: argparse.Namespace):
    from ringscope.api.settings import default_database_url
    from ringscope.store import open_store

    if not args.snapshot.is_dir():
        raise RingscopeError(f"snapshot root is not a directory: {args.snapshot}")
    url = (
        args.database_url
        or os.environ.get("RINGSCOPE_DATABASE_URL")
        or default_database_url(args.snapshot)
    )
    return open_store(url)


def cmd_import(args: argparse.Namespace) -> int:
    """Check every row, then import all of them in one transaction (or none)."""
    from ringscope.feedback.bulk import import_verdicts
    from ringscope.snapshot import resolve_snapshot

    snapshot = resolve_snapshot(args.snapshot)
    store = _store(args)
    try:
        clusters, actors = import_verdicts(args.file, snapshot, store, fmt=args.format)
    finally:
        store.close()
    err.print(
        f"imported {clusters} cluster and {actors} account verdict(s) against snapshot "
        f"{snapshot.name}"
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write every verdict to a CSV or JSON Lines file."""
    from ringscope.feedback.bulk import export_verdicts

    store = _store(args)
    try:
        n = export_verdicts(args.file, store, fmt=args.format)
    finally:
        store.close()
    err.print(f"exported {n} verdict(s) to {args.file}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``verdicts import|export`` to the ``ringscope`` parser."""
    verdicts = sub.add_parser("verdicts", help="bulk import and export of verdicts")
    commands = verdicts.add_subparsers(dest="verdicts_command", required=True)
    for name, func, text in (
        ("import", cmd_import, "import verdicts (all rows or none) from CSV or JSON Lines"),
        ("export", cmd_export, "export every verdict as CSV or JSON Lines"),
    ):
        p = commands.add_parser(name, help=text)
        p.add_argument("file", type=Path, help="a .csv or .jsonl file")
        p.add_argument("--snapshot", type=Path, required=True, help="snapshot root")
        p.add_argument("--database-url", help="verdict store URL (default: SQLite in the root)")
        p.add_argument("--format", choices=("csv", "jsonl"), help="default: from the file name")
        p.set_defaults(func=func)
