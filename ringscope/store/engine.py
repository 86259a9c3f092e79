"""Database engines for the store: durable SQLite by default, PostgreSQL via psycopg.

SQLite runs in WAL mode with ``synchronous=FULL`` (a committed verdict survives a crash
or power loss), a busy timeout so concurrent writers wait instead of failing, and
foreign keys on. ``postgresql://`` URLs are routed to the psycopg 3 driver. JSON columns
are decoded with orjson: a run reads every verdict's feature vector.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ringscope.errors import RingscopeError

__all__ = ["StoreError", "make_engine", "normalise_url"]

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)


class StoreError(RingscopeError):
    """The verdict store cannot be opened or a write was refused."""


def normalise_url(url: str) -> str:
    """Validate a database URL; ``postgresql://`` / ``postgres://`` use psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"not a database URL: {url!r}") from None
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise StoreError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the durability settings above."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise StoreError("the verdict store needs a SQLite file, not an in-memory database")
        if not Path(database).parent.is_dir():
            raise StoreError(f"directory for the SQLite store does not exist: {database}")
        engine = create_engine(url, connect_args={"timeout": 10}, json_deserializer=orjson.loads)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            cursor = dbapi_conn.cursor()
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, json_deserializer=orjson.loads)
