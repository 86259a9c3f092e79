"""Shared fixtures: small event tables in the canonical schema, built without ingest."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from ringscope.graph.schema import EVENT_SCHEMA

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
"""Real public data sets, kept next to the project and never copied into it."""

MIN = 60_000
T0 = 1_790_000_000_000


def make_events(rows: list[dict]) -> pl.DataFrame:
    """Canonical event table from partial rows (missing fields are null)."""
    full = []
    for i, r in enumerate(rows):
        row = {c: None for c in EVENT_SCHEMA}
        row.update({"event_id": f"e{i}", "actor_key": f"k-{r['actor_id']}"})
        row.update(r)
        full.append(row)
    return pl.DataFrame(full, schema=EVENT_SCHEMA).sort("ts", "actor_id")


@pytest.fixture
def ring_events() -> pl.DataFrame:
    """Five accounts blasting one template and domain to strangers, plus busy legit users."""
    rows: list[dict] = []
    ring = [f"r{i}" for i in range(5)]
    for wave in range(3):
        for j, a in enumerate(ring):
            ts = T0 + wave * 600 * MIN + j * MIN
            rows.append(
                {
                    "ts": ts,
                    "actor_id": a,
                    "event_type": "message",
                    "message_key": f"m-{a}-{wave}",
                    "recipients": [f"k-s{wave}{j}", f"k-t{wave}{j}"],
                    "domains": ["spam.example"],
                    "content_bands": [101, 102, 103 + wave],
                    "device_key": "dev-farm",
                    "ip_key": "ip-1",
                    "subnet_key": "net-1",
                }
            )
    legit = [f"l{i}" for i in range(6)]
    for day in range(4):
        for j, a in enumerate(legit):
            ts = T0 + day * 1440 * MIN + j * 97 * MIN
            friend = legit[(j + 1) % len(legit)]
            rows.append(
                {
                    "ts": ts,
                    "actor_id": a,
                    "event_type": "message",
                    "message_key": f"m-{a}-{day}",
                    "recipients": [f"k-{friend}"],
                    "domains": ["news.example", f"own{j}.example"],
                    "content_bands": [1000 + 10 * j + day],
                    "device_key": f"dev-{a}",
                    "ip_key": f"ip-{a}",
                    "subnet_key": f"net-{j % 2}",
                }
            )
    return make_events(rows)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data directory; tests that need it fail loudly when it is missing."""
    assert SHARED_DATA.is_dir(), f"real data directory missing: {SHARED_DATA}"
    return SHARED_DATA
