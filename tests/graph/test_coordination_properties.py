"""Property tests: the local engine's coordination evidence equals a naive reference on
random small event sets and configurations (see ``coordination_reference``)."""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from ringscope.graph import coordination_kernels
from ringscope.graph.coordination import build_evidence
from ringscope.graph.hetero import build_hetero_graph
from tests.graph.coordination_reference import reference_evidence
from tests.graph.coordination_strategies import (
    STRAY_TS,
    T0,
    TOLERANCE,
    ZERO_MASS_CONFIG,
    ZERO_MASS_ROWS,
    configs,
    events,
    evidence_frame,
    keyed,
)

EXACT = ["n_items", "first_ts", "last_ts", "co_shares", "median_gap_ms", "max_gap_ms"]


def assert_matches_reference(rows, cfg) -> None:
    note(f"rows={rows!r}")
    note(f"cfg={cfg.model_dump()!r}")
    hg = build_hetero_graph(evidence_frame(rows))
    got_edges, got_rows = keyed(build_evidence(hg, cfg), hg.nodes["actor"]["key"].to_list())
    want_edges, want_rows = reference_evidence(rows, cfg)
    assert set(got_edges) == set(want_edges), set(got_edges) ^ set(want_edges)
    assert set(got_rows) == set(want_rows), set(got_rows) ^ set(want_rows)
    for key, want in want_edges.items():
        got = got_edges[key]
        assert tuple(got["layers"]) == want.layers, key
        assert abs(got["weight"] - want.weight) <= TOLERANCE, key
        assert math.isclose(got["strength"], want.strength, rel_tol=1e-9, abs_tol=1e-9), key
    for key, want in want_rows.items():
        got = got_rows[key]
        assert {c: got[c] for c in EXACT} == {c: getattr(want, c) for c in EXACT}, (key, want)
        assert tuple(got["items"]) == want.items, key
        for column in ("similarity", "contribution"):
            assert abs(got[column] - getattr(want, column)) <= TOLERANCE, (key, column)
        assert math.isclose(got["expected"], want.expected, rel_tol=TOLERANCE), key
        assert math.isclose(got["significance"], want.significance, rel_tol=1e-9, abs_tol=1e-9), key


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=events(), cfg=configs())
@example(rows=ZERO_MASS_ROWS, cfg=ZERO_MASS_CONFIG)
def test_local_evidence_matches_naive_reference(rows, cfg):
    assert_matches_reference(rows, cfg)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=events(max_actors=12, max_events=60), cfg=configs(), partners=st.integers(1, 2))
def test_bursts_above_max_partners_match_reference(rows, cfg, partners):
    """Busier items than ``max_partners + 1`` actors: the band in time order."""
    assert_matches_reference(rows, cfg.model_copy(update={"max_partners": partners}))


def _occurrences(uses: list[tuple[int, int, int]]) -> pl.DataFrame:
    schema = {"actor": pl.UInt32, "item": pl.UInt32, "ts": pl.Int64}
    return pl.DataFrame(uses, schema=schema, orient="row").sort("item", "ts", "actor")


def test_window_pairs_with_millions_of_items_and_a_century_of_time():
    """The packed (item, time) key overflowed: item index 3,000,000 times a span from 1970
    to 2099 passes 2**63, and the local engine paired uses 130 years and items apart."""
    occ = _occurrences([(5, 10, STRAY_TS[0]), (6, 10, STRAY_TS[1]), (1, 3_000_000, T0)])
    occ = pl.concat([occ, _occurrences([(2, 3_000_000, T0 + 1)])]).sort("item", "ts", "actor")
    pairs = coordination_kernels.window_pairs(occ, 60_000, 24)
    assert pairs.rows() == [(1, 2, 3_000_000, T0, T0 + 1)]


@settings(max_examples=100, deadline=None)
@given(
    uses=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 4), st.sampled_from([0, 1, 2, 5, 9, 10])),
        min_size=2,
        max_size=40,
    ),
    window=st.sampled_from([0, 1, 4, 10]),
    partners=st.integers(1, 4),
)
def test_window_scan_equals_packed_search(uses, window, partners):
    """The overflow-free scan gives the packed binary search's pairs, row for row."""
    occ = _occurrences(uses)
    packed = coordination_kernels.window_pairs(occ, window, partners)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(coordination_kernels, "_KEY_LIMIT", 0)
        scanned = coordination_kernels.window_pairs(occ, window, partners)
    assert scanned.equals(packed)
