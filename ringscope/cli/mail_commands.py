"""Mail commands: ``import-mail`` turns raw RFC 5322 messages into an event file."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console

__all__ = ["register"]


def _add_import_mail(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "import-mail", help="raw mail (directory tree, tar archive, mbox) -> events.jsonl.gz"
    )
    p.add_argument("path", type=Path, help="directory tree, tar(.gz) of one, mbox or message")
    p.add_argument("--out", type=Path, required=True, help="event file to write (.jsonl.gz)")
    p.add_argument(
        "--rejects",
        type=Path,
        help="rejects file (gzip JSON Lines); default: <out name>.rejects.gz next to --out",
    )
    p.add_argument(
        "--label-from-folder",
        action="store_true",
        help="add a 'folder' field: the top-level folder each message was found in",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="processes that parse messages (default: up to 4, one per core)",
    )
    p.add_argument(
        "--insecure-demo-key",
        action="store_true",
        help="seal rejects with the public demo key (never for real data)",
    )
    return p


def cmd_import_mail(args: argparse.Namespace) -> int:
    """Raw mail -> events + rejects; prints the counts."""
    from ringscope.ingest.mail import default_rejects_path, import_mail
    from ringscope.privacy import load_keyring

    keyring = load_keyring(allow_demo=args.insecure_demo_key)
    rejects = args.rejects or default_rejects_path(args.out)
    stats = import_mail(
        args.path,
        args.out,
        keyring=keyring,
        rejects_out=rejects,
        label_from_folder=args.label_from_folder,
        workers=args.workers,
    )
    console = Console()
    console.print(
        f"{stats.messages:,} messages: {stats.events:,} events -> {args.out}, "
        f"{stats.rejected_total:,} rejected -> {rejects}",
        highlight=False,
    )
    if stats.events:
        console.print(
            f"  with a relay IP {stats.with_ip:,}, with links {stats.with_urls:,}, "
            f"timed by Date {stats.time_sources['date']:,}, "
            f"by Received {stats.time_sources['received']:,}, "
            f"by mbox envelope {stats.time_sources['envelope']:,}",
            highlight=False,
        )
    for reason, count in sorted(stats.rejected.items()):
        console.print(f"  rejected {reason}: {count:,}", highlight=False)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the mail commands to the ``ringscope`` parser."""
    _add_import_mail(sub).set_defaults(func=cmd_import_mail)
