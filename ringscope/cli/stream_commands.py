"""``compact``: merge a stream root's sealed segments and re-base its kept state."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import orjson
from rich.console import Console

__all__ = ["register"]


def _mib(n: int) -> str:
    return f"{n / 2**20:,.2f} MiB"


def cmd_compact(args: argparse.Namespace) -> int:
    """Compact a stream root (see :mod:`ringscope.stream.compact`)."""
    from ringscope.privacy import SECRET_ENV, load_keyring
    from ringscope.stream.compact import check_stream_root, compact

    check_stream_root(args.root)  # a bad path fails before the key is asked for
    keyring = None
    if args.insecure_demo_key or os.environ.get(SECRET_ENV) or args.verify:
        keyring = load_keyring(allow_demo=args.insecure_demo_key)
    report = compact(
        args.root,
        keyring=keyring,
        max_segment_bytes=int(args.max_segment_mb * 2**20),
        keep_batch_lines=args.keep_batch_lines,
        verify=args.verify,
    )
    if args.json:
        Console(soft_wrap=True).print_json(orjson.dumps(report.as_dict()).decode())
        return 0
    r = report
    out = Console(soft_wrap=True, highlight=False)
    out.print(f"compacted {args.root} in {r.seconds:.2f} s: {r.events:,} events in sealed segments")
    out.print(
        f"  segments: {r.segments_before} -> {r.segments_after} "
        f"({_mib(r.segment_bytes_before)} -> {_mib(r.segment_bytes_after)})"
    )
    cache = "made for the merged segments" if r.cache_built else "not made (no key given)"
    out.print(
        f"  ingest cache: {r.cache_entries_before} -> {r.cache_entries_after} entries "
        f"({_mib(r.cache_bytes_before)} -> {_mib(r.cache_bytes_after)}; {cache})"
    )
    out.print(f"  duplicates dropped: {r.duplicates_dropped}")
    out.print(f"  batches.jsonl: {r.batch_lines_dropped} old lines dropped")
    out.print(
        f"  re-based (generation {r.generation}): the next micro-batch fits the risk model again"
    )
    if r.verified is not None:
        out.print("  verified: a batch over the compacted log reads the same event table")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``compact`` to the ``ringscope`` parser."""
    p = sub.add_parser(
        "compact",
        help="merge a stream root's sealed log segments and re-base its kept state",
        description=(
            "Merge the sealed log segments of a stream root (made by `ringscope serve "
            "--ingest`) and their ingest-cache entries, atomically, and make the next "
            "micro-batch fit the risk model again. Refuses while a server runs on the root."
        ),
    )
    p.add_argument("root", type=Path, help="snapshot root of the stream")
    p.add_argument(
        "--max-segment-mb",
        type=float,
        default=256,
        help="largest merged segment in MiB (256); larger segments are left as they are",
    )
    p.add_argument(
        "--keep-batch-lines",
        type=int,
        default=1000,
        help="newest lines of stream/batches.jsonl to keep (1000)",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="check that the compacted log gives the same event table (needs the key)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--insecure-demo-key",
        action="store_true",
        help="the stream uses the public demo key (never for real data)",
    )
    p.set_defaults(func=cmd_compact)
