"""Query API commands: ``serve`` and ``keys create|list|revoke``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ringscope.cli.console import err
from ringscope.errors import RingscopeError
from ringscope.vocabulary import ROLES

__all__ = ["register"]


def _database_url(args: argparse.Namespace) -> str:
    """--database-url, else RINGSCOPE_DATABASE_URL, else SQLite under --snapshot."""
    from ringscope.api.settings import default_database_url

    url = args.database_url or os.environ.get("RINGSCOPE_DATABASE_URL")
    if url:
        return url
    if args.snapshot is None:
        raise RingscopeError("give --snapshot ROOT or --database-url URL")
    if not args.snapshot.is_dir():
        raise RingscopeError(f"snapshot root is not a directory: {args.snapshot}")
    return default_database_url(args.snapshot)


def _add_store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--snapshot", type=Path, help="snapshot root (store defaults to SQLite here)")
    p.add_argument("--database-url", help="SQLAlchemy URL of the verdict store")


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the query API over the latest snapshot under a root."""
    import uvicorn

    from ringscope.api.app import create_app
    from ringscope.api.settings import ApiSettings

    keyring = None
    if args.ingest:  # an empty (or new) root is a valid start for a stream
        from ringscope.privacy import load_keyring

        keyring = load_keyring(allow_demo=args.insecure_demo_key)
        args.snapshot.mkdir(parents=True, exist_ok=True)
    if not args.snapshot.is_dir():
        raise RingscopeError(f"snapshot root is not a directory: {args.snapshot}")
    options = {"snapshot_root": args.snapshot, "database_url": _database_url(args)}
    given = {
        "reload_interval_s": args.reload_interval,
        "batch_interval_s": args.batch_interval,
        "max_backlog": args.max_backlog,
        "keep_snapshots": args.keep_snapshots,
        "drop_dir": args.drop_dir,
        "run_config": args.config,
    }
    options |= {k: v for k, v in given.items() if v is not None}
    app = create_app(ApiSettings(**options, ingest=args.ingest), keyring=keyring)
    what = "ingesting into and serving" if args.ingest else "serving"
    err.print(f"{what} {args.snapshot} on http://{args.host}:{args.port} (docs at /docs)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    """Create a key and print it once."""
    from ringscope.store import open_store

    store = open_store(_database_url(args))
    try:
        key, secret = store.create_key(args.name, args.role)
    finally:
        store.close()
    err.print(f"created {key.role} key {key.name!r}; it is shown only this once:")
    Console(soft_wrap=True).print(secret, highlight=False)
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    """List keys (never their secrets)."""
    from ringscope.store import open_store

    store = open_store(_database_url(args))
    try:
        keys = store.list_keys()
    finally:
        store.close()
    table = Table("name", "role", "prefix", "created", "revoked")
    for k in keys:
        revoked = k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else ""
        table.add_row(k.name, k.role, k.prefix, k.created_at.isoformat(timespec="seconds"), revoked)
    Console().print(table)
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    """Revoke a key by name."""
    from ringscope.store import open_store

    store = open_store(_database_url(args))
    try:
        key = store.revoke_key(args.name)
    finally:
        store.close()
    err.print(f"revoked key {key.name!r}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``serve`` and ``keys`` to the ``ringscope`` parser."""
    p = sub.add_parser("serve", help="HTTP query API over the latest snapshot")
    p.add_argument("--snapshot", type=Path, required=True, help="snapshot root directory")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--database-url", help="verdict store URL (default: SQLite in the root)")
    p.add_argument(
        "--reload-interval", type=float, help="seconds between checks for a newer snapshot"
    )
    stream = p.add_argument_group("streaming (see README: Streaming)")
    stream.add_argument(
        "--ingest",
        action="store_true",
        help="accept POST /v1/events and publish micro-batches into the root",
    )
    stream.add_argument("--batch-interval", type=float, help="seconds between micro-batches (10)")
    stream.add_argument(
        "--max-backlog", type=int, help="events waiting for a snapshot past which to answer 429"
    )
    stream.add_argument("--keep-snapshots", type=int, help="snapshots to keep (5)")
    stream.add_argument("--drop-dir", type=Path, help="take in new event files from this folder")
    stream.add_argument("--config", type=Path, help="TOML run configuration of the micro-batches")
    stream.add_argument(
        "--insecure-demo-key",
        action="store_true",
        help="hash with the public demo key (never for real data)",
    )
    p.set_defaults(func=cmd_serve)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="create a key (printed once)")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    _add_store_options(create)
    create.set_defaults(func=cmd_keys_create)
    listing = keys.add_parser("list", help="list keys")
    _add_store_options(listing)
    listing.set_defaults(func=cmd_keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name")
    _add_store_options(revoke)
    revoke.set_defaults(func=cmd_keys_revoke)
