"""``import-sharing``: a coordinated-sharing table (CooRTweet layout) -> an event file."""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl
from rich.console import Console

from ringscope.errors import InputError

__all__ = ["register"]


def _read(path: Path) -> pl.DataFrame:
    if not path.exists():
        raise InputError(f"input not found: {path}")
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema_length=10_000)


def cmd_import_sharing(args: argparse.Namespace) -> int:
    """Sharing table -> one ``post`` event per post, as Parquet."""
    from ringscope.ingest.sharing import write_sharing_events

    table = _read(args.path)
    n = write_sharing_events(table, args.out)
    Console().print(f"{table.height:,} rows: {n:,} post events -> {args.out}", highlight=False)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``import-sharing`` to the ``ringscope`` parser."""
    p = sub.add_parser(
        "import-sharing",
        help="coordinated-sharing table (CooRTweet layouts, CSV/Parquet) -> events.parquet",
    )
    p.add_argument("path", type=Path, help="CSV(.gz) or Parquet sharing table")
    p.add_argument("--out", type=Path, required=True, help="event file to write (.parquet)")
    p.set_defaults(func=cmd_import_sharing)
