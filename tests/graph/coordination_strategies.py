"""Hypothesis strategies for coordination property tests: small random event sets and
configurations, and the engines' evidence keyed like :mod:`coordination_reference`'s.

Events are few (a handful of accounts and items) and close in time (milliseconds apart,
windows of a few milliseconds), so ties, exact window boundaries, repeats by one actor
within half a window and items above the hub bound are all common.
"""

from __future__ import annotations

import polars as pl
from hypothesis import strategies as st

from ringscope.config import CoordinationConfig
from ringscope.graph.coordination import CoordinationEvidence

T0 = 1_790_000_000_000
#: Times ingest accepts at either end (1970-01-01 and just before 2100): a stray record
#: makes the time span of a layer 130 years.
STRAY_TS = [0, 4_102_444_799_999]
TOLERANCE = 1e-12

DOMAINS = ["x.example", "y.example", "bit.ly/ab", "bit.ly/cd"]
URLS = ["url:u0", "url:u1", "url:u2"]
OBJECTS = ["post:p0", "post:p1", "media:m0", "hashtag:h0", "hashtag:h1", "object:o0"]
STRANGERS = ["k-s0", "k-s1"]
LAYERS = list(CoordinationConfig().layers)


def _maybe(values: list[str]) -> st.SearchStrategy[str | None]:
    return st.none() | st.sampled_from(values)


def _subset(values: list) -> st.SearchStrategy[list]:
    return st.lists(st.sampled_from(values), unique=True, max_size=len(values))


@st.composite
def events(draw: st.DrawFn, max_actors: int = 7, max_events: int = 28) -> list[dict]:
    """Partial event rows (canonical schema field names), one record per message."""
    n_actors = draw(st.integers(2, max_actors))
    actors = [f"a{i}" for i in range(n_actors)]
    keys = [f"k-{a}" for a in actors]
    rows = []
    for n in range(draw(st.integers(1, max_events))):
        actor = draw(st.sampled_from(actors))
        offset = draw(st.integers(0, 25 + len(STRAY_TS)))
        row = {
            "ts": T0 + offset if offset <= 25 else STRAY_TS[offset - 26],
            "actor_id": actor,
            "actor_key": f"k-{actor}",
            "event_type": draw(st.sampled_from(["login", "signup", "message", "share"])),
        }
        kind = row["event_type"]
        if kind in ("login", "signup"):
            ip = draw(st.none() | st.integers(0, 3))
            row |= {
                "device_key": draw(_maybe(["d0", "d1", "d2"])),
                "ip_key": None if ip is None else f"i{ip}",
                "subnet_key": None if ip is None else f"n{ip // 2}",
                "email_key": draw(_maybe(["e0", "e1"])),
                "phone_key": draw(_maybe(["p0"])),
                "name_key": draw(_maybe(["n0", "n1"])),
            }
        elif kind == "message":
            row |= {
                "message_key": f"m{n}",
                "domains": draw(_subset(DOMAINS)),
                "content_bands": draw(_subset([1, 2, 3, 4, 5])),
                "recipients": draw(_subset(keys + STRANGERS)),
            }
        else:
            row |= {
                "urls": draw(_subset(URLS)),
                "object_ids": draw(_subset(OBJECTS)),
                "target_id": draw(_maybe(["t0", "t1"])),
            }
        rows.append(row)
    return rows


@st.composite
def configs(draw: st.DrawFn) -> CoordinationConfig:
    """A coordination config with small windows and random caps, bars and layer settings."""
    layers = {}
    for name in LAYERS:
        layers[name] = {
            "weight": draw(st.sampled_from([0.0, 0.3, 1.0])),
            "window_ms": draw(st.sampled_from([0, 1, 4, 10])),
            "hub_actors": draw(st.sampled_from([2, 3, 200])),
            "min_participation": draw(st.integers(1, 3)),
            "min_significance": draw(st.sampled_from([0.0, 0.5])),
            "repeat_by": draw(st.sampled_from(["items", "occasions"])),
            "strength_weight": draw(st.sampled_from([None, 0.2])),
            "match": draw(st.sampled_from(["exact", "near_duplicate", "topic"])),
        }
    return CoordinationConfig(
        layers=layers,
        max_partners=draw(st.integers(1, 3)),
        max_item_actors=draw(st.sampled_from([2, 3, 5000])),
        min_item_weight=draw(st.sampled_from([0.0, 0.04, 0.3])),
        min_edge_weight=draw(st.sampled_from([0.0, 0.12])),
        min_edge_strength=draw(st.sampled_from([0.0, 3.0])),
        similarity_prior=draw(st.sampled_from([0.0, 1.0])),
        evidence_items=draw(st.sampled_from([1, 5])),
    )


#: Two accounts on one device, the only actors: the item's weight is 0 (idf of an item
#: every actor used), so with ``similarity_prior`` 0 the similarity is 0 / 0. Both sides
#: have no layer mass and share none: similarity 0. The local engine gave NaN (and a NaN
#: edge weight), Spark 0 (its division by zero is null, dropped by ``greatest``).
ZERO_MASS_ROWS = [
    {"ts": T0, "actor_id": "a0", "actor_key": "k-a0", "event_type": "login", "device_key": "d0"},
    {
        "ts": T0 + 1,
        "actor_id": "a1",
        "actor_key": "k-a1",
        "event_type": "login",
        "device_key": "d0",
    },
]
ZERO_MASS_CONFIG = CoordinationConfig(
    similarity_prior=0.0, min_item_weight=0.0, min_edge_weight=0.0
)


def keyed(evidence: CoordinationEvidence, actor_keys: list[str]) -> tuple[dict, dict]:
    """An engine's edges and ledger rows keyed by (src key, dst key[, layer])."""

    def pair(s: int, d: int) -> tuple[str, str]:
        a, b = actor_keys[s], actor_keys[d]
        return (a, b) if a <= b else (b, a)

    edges = {pair(r["src"], r["dst"]): r for r in evidence.edges.iter_rows(named=True)}
    ledger = {
        (*pair(r["src"], r["dst"]), r["layer"]): r for r in evidence.evidence.iter_rows(named=True)
    }
    return edges, ledger


def evidence_frame(rows: list[dict]) -> pl.DataFrame:
    """The canonical event table of partial rows (see ``tests.conftest.make_events``)."""
    from tests.conftest import make_events

    return make_events(rows)
