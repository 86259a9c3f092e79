"""The typed graph: node/edge tables from events, and the igraph / networkx exporters."""

from __future__ import annotations

import numpy as np
import polars as pl

from ringscope.graph.hetero import NODE_TYPES, RELATIONS, _edge_table, build_hetero_graph


def test_tables_have_every_type_and_valid_indices(ring_events):
    hg = build_hetero_graph(ring_events)
    assert set(hg.nodes) == set(NODE_TYPES)
    assert set(hg.edges) == set(RELATIONS)
    for t, nodes in hg.nodes.items():
        assert nodes["idx"].to_list() == list(range(nodes.height)), t
        assert nodes["key"].is_unique().all(), t
    for (s, _, d), edges in hg.edges.items():
        if edges.height:
            assert edges["src"].max() < hg.num_nodes(s)
            assert edges["dst"].max() < hg.num_nodes(d)
    assert hg.num_nodes("domain") == 1 + 1 + 6  # spam, news, own0..own5
    # recipients that never acted are actor nodes too, without an actor_id
    actors = hg.nodes["actor"]
    assert actors.filter(pl.col("actor_id").is_null()).height == 30


def test_repeated_use_over_time_stays_as_temporal_edges(ring_events):
    hg = build_hetero_graph(ring_events)
    used = hg.edges[("actor", "used", "device")]
    farm = hg.nodes["device"].filter(pl.col("key") == "dev-farm")["idx"][0]
    # 5 ring accounts x 3 waves on the farm device: 15 timestamped edges
    assert used.filter(pl.col("dst") == farm).height == 15


def test_igraph_export_counts_match(ring_events):
    hg = build_hetero_graph(ring_events)
    g = hg.to_igraph()
    assert g.vcount() == sum(df.height for df in hg.nodes.values())
    assert g.ecount() == sum(df.height for df in hg.edges.values())
    present = {rel for et, df in hg.edges.items() if df.height for rel in [et[1]]}
    assert set(g.es["relation"]) == present
    assert set(g.vs["type"]) == {t for t in NODE_TYPES if hg.num_nodes(t)}


def test_networkx_subgraph_of_one_actor(ring_events):
    hg = build_hetero_graph(ring_events)
    g = hg.to_networkx(actor_keys={"k-r0"})
    assert ("actor", "k-r0") in g
    assert ("domain", "spam.example") in g
    assert ("actor", "k-l0") not in g


def test_identifiers_become_identity_nodes_shared_across_time():
    from tests.conftest import T0, make_events

    day = 86_400_000
    rows = [
        {
            "ts": T0,
            "actor_id": "banned",
            "event_type": "signup",
            "email_key": "e1",
            "name_key": "n1",
        },
        {"ts": T0 + 9 * day, "actor_id": "back", "event_type": "signup", "name_key": "n1"},
    ]
    hg = build_hetero_graph(make_events(rows))
    assert sorted(hg.nodes["identity"]["key"].to_list()) == ["email:e1", "name:n1"]
    has = hg.edges[("actor", "has", "identity")]
    name = hg.nodes["identity"].filter(pl.col("key") == "name:n1")["idx"][0]
    assert has.filter(pl.col("dst") == name).height == 2


def test_edge_tables_are_distinct_rows_sorted_whatever_the_input_order():
    """Rows out of time order, repeats and nulls: distinct (src, dst, ts), sorted by all three."""
    rng = np.random.default_rng(7)
    n = 5000
    frame = pl.DataFrame(
        {
            "a": rng.integers(0, 40, n).astype(np.uint32),
            "b": rng.integers(0, 40, n).astype(np.uint32),
            "ts": rng.integers(0, 30, n),
        }
    ).with_columns(pl.when(pl.int_range(pl.len()) % 97 == 0).then(None).otherwise("b").alias("b"))
    expected = (
        frame.drop_nulls()
        .unique()
        .sort("a", "b", "ts")
        .select(pl.col("a").alias("src"), pl.col("b").alias("dst"), "ts")
    )
    assert _edge_table(frame.lazy(), "a", "b").equals(expected)


def test_event_nodes_name_each_events_nodes_row_for_row():
    """Ranking reads events beside ``event_nodes`` instead of joining keys again, so the
    indices must follow the event rows in order, also when the joins run in parallel."""
    from ringscope.graph.schema import EVENT_SCHEMA
    from tests.conftest import T0

    rng = np.random.default_rng(7)
    n = 200_000
    given = pl.DataFrame(
        {
            "ts": np.sort(rng.integers(T0, T0 + 10**9, n)),
            "actor_key": pl.Series(rng.integers(0, 20_000, n)).cast(pl.Utf8),
            "event_type": rng.choice(["message", "login", "suspension"], n),
            "message_key": pl.Series(rng.integers(0, 150_000, n)).cast(pl.Utf8),
            "ip_key": pl.Series(rng.integers(0, 30_000, n)).cast(pl.Utf8),
            "device_key": pl.Series(rng.integers(0, 40_000, n)).cast(pl.Utf8),
        }
    ).with_columns(
        pl.col("actor_key").alias("actor_id"),
        pl.when(pl.col("event_type") == "message").then(pl.col("message_key")),
        pl.when(pl.col("ts") % 3 > 0).then(pl.col("device_key")),
    )
    events = given.select(
        pl.col(c) if c in given.columns else pl.lit(None, dtype=t).alias(c)
        for c, t in EVENT_SCHEMA.items()
    )
    hg = build_hetero_graph(events)
    assert hg.event_nodes.height == n
    for column, node_type, name in (
        ("actor_key", "actor", "actor"),
        ("message_key", "message", "msg"),
        ("ip_key", "ip", "ip"),
        ("device_key", "device", "device"),
    ):
        named = hg.nodes[node_type]["key"].gather(hg.event_nodes[name])
        assert named.to_list() == events[column].to_list(), column
