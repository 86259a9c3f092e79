"""Store fixtures: a real SQLite file, and the suite's real PostgreSQL (``postgres_url``
in ``tests/conftest.py``) when one can be had."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ringscope.store import Store, open_store


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file of this test's own."""
    return f"sqlite:///{tmp_path / 'store.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Run a test on SQLite and on PostgreSQL (skipped when PostgreSQL is unavailable)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open store on each backend, emptied of rows a previous test left behind."""
    opened = open_store(store_url)
    from ringscope.store.schema import Base

    with opened.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    yield opened
    opened.close()
