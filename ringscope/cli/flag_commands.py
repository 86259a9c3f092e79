"""The batch takedown job: ``ringscope flag``.

Reads one snapshot and the latest investigator verdicts from the verdict store, writes
the takedown list (CSV or Parquet, see :mod:`ringscope.ranking.takedown`) or, with
``--dry-run``, only prints its counts; every run appends an audit record (who, snapshot,
settings, counts, output digest) to the store's audit log.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from ringscope.errors import RingscopeError

__all__ = ["register"]

AUDIT_KIND = "takedown.flag"


def _add_flag(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("flag", help="snapshot + verdicts -> takedown list (CSV or Parquet)")
    p.add_argument("--snapshot", type=Path, required=True, help="snapshot or snapshot root")
    p.add_argument("--min-score", type=float, required=True, help="least cluster score, 0-1")
    p.add_argument("--max-clusters", type=int, help="list at most this many clusters")
    p.add_argument("--out", type=Path, help="output file, .csv or .parquet")
    p.add_argument("--dry-run", action="store_true", help="print counts, write no file")
    p.add_argument("--principal", help="who runs the job (default: the OS user)")
    p.add_argument("--database-url", help="verdict store URL (default: SQLite in the root)")
    return p


def _store_url(args: argparse.Namespace, snapshot: Path) -> str:
    """--database-url, else RINGSCOPE_DATABASE_URL, else SQLite in the snapshot root."""
    from ringscope.api.settings import default_database_url

    return (
        args.database_url
        or os.environ.get("RINGSCOPE_DATABASE_URL")
        or default_database_url(snapshot.parent)
    )


def cmd_flag(args: argparse.Namespace) -> int:
    """Write (or count) the takedown list of a snapshot and audit the run."""
    from ringscope.ranking.takedown import (
        TakedownSettings,
        audit_payload,
        output_format,
        takedown_list,
        write_takedown,
    )
    from ringscope.snapshot import resolve_snapshot
    from ringscope.store import open_store

    settings = TakedownSettings(min_score=args.min_score, max_clusters=args.max_clusters)
    if args.out is None and not args.dry_run:
        raise RingscopeError("give --out FILE (.csv or .parquet) or --dry-run")
    if args.out is not None:
        output_format(args.out)
    snapshot = resolve_snapshot(args.snapshot)
    principal = args.principal or getpass.getuser()
    store = open_store(_store_url(args, snapshot))
    try:
        verdicts = {cid: v.verdict for cid, v in store.latest_verdicts().items()}
        result = takedown_list(snapshot, settings, verdicts)
        extra: dict[str, object] = {"dry_run": args.dry_run}
        if not args.dry_run:
            digest = write_takedown(result.rows, args.out)
            extra |= {"out": args.out.name, "sha256": digest}
        payload = audit_payload(snapshot, settings, result, **extra)
        store.append_audit(AUDIT_KIND, principal, payload)
    finally:
        store.close()
    sys.stdout.write(json.dumps(result.counts, indent=2) + "\n")
    if not args.dry_run:
        sys.stdout.write(f"wrote {result.counts['actors_flagged']:,} rows to {args.out}\n")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``flag`` to the ``ringscope`` parser."""
    _add_flag(sub).set_defaults(func=cmd_flag)
