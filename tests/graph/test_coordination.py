"""Coordination evidence: rings get strong explained edges, unrelated users none."""

from __future__ import annotations

import polars as pl

from ringscope.config import CoordinationConfig
from ringscope.graph.coordination import build_evidence, layer_occurrences
from ringscope.graph.hetero import build_hetero_graph


def _named_edges(hg, ev) -> set[frozenset[str]]:
    ids = hg.nodes["actor"]["actor_id"].to_list()
    return {frozenset((ids[s], ids[d])) for s, d in ev.edges.select("src", "dst").iter_rows()}


def test_ring_members_are_linked_and_legit_users_are_not(ring_events):
    hg = build_hetero_graph(ring_events)
    ev = build_evidence(hg, CoordinationConfig())
    edges = _named_edges(hg, ev)
    ring = {f"r{i}" for i in range(5)}
    ring_pairs = {frozenset((a, b)) for a in ring for b in ring if a < b}
    assert ring_pairs <= edges
    assert all(e <= ring for e in edges), "no edge may touch a legit user"


def test_evidence_names_layers_items_and_time_span(ring_events):
    hg = build_hetero_graph(ring_events)
    ev = build_evidence(hg, CoordinationConfig())
    layers = set(ev.evidence["layer"].unique())
    assert {"content", "domain", "device"} <= layers
    domain = ev.evidence.filter(pl.col("layer") == "domain")
    assert domain["items"].explode().unique().to_list() == ["spam.example"]
    assert (domain["first_ts"] <= domain["last_ts"]).all()
    # the weight of an edge is the sum of its layer contributions
    total = ev.evidence.group_by("src", "dst").agg(pl.col("contribution").sum())
    joined = ev.edges.join(total, on=["src", "dst"])
    assert (joined["weight"] - joined["contribution"]).abs().max() < 1e-9


def test_big_groups_are_sparsified_not_cliqued():
    """A group of 400 actors on one item in one bucket yields O(k) pairs, still connected."""
    import networkx as nx

    from tests.conftest import T0, make_events

    rows = [
        {"ts": T0 + i * 1000, "actor_id": f"a{i}", "event_type": "login", "device_key": "shared"}
        for i in range(400)
    ]
    rows += [
        {"ts": T0, "actor_id": f"x{i}", "event_type": "login", "device_key": f"own{i}"}
        for i in range(2000)
    ]
    hg = build_hetero_graph(make_events(rows))
    layers = {"device": {"weight": 1.0, "window_ms": 0, "hub_actors": 1000}}
    cfg = CoordinationConfig(min_edge_weight=0.0, layers=layers)
    ev = build_evidence(hg, cfg)
    assert ev.edges.height <= 400 * cfg.max_partners
    g = nx.Graph(ev.edges.select("src", "dst").rows())
    assert nx.is_connected(g) and g.number_of_nodes() == 400


def test_window_separates_unsynchronised_use():
    from tests.conftest import MIN, T0, make_events

    rows = [
        {
            "ts": T0 + i * 600 * MIN,
            "actor_id": f"a{i}",
            "event_type": "message",
            "message_key": f"m{i}",
            "domains": ["x.example"],
        }
        for i in range(4)
    ]
    hg = build_hetero_graph(make_events(rows))
    occ = layer_occurrences(hg)["domain"]
    assert occ.height == 4
    ev = build_evidence(hg, CoordinationConfig(min_edge_weight=0.0))
    assert ev.evidence.filter(pl.col("layer") == "domain").height == 0
