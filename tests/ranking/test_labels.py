"""Labels from the event log: suspensions, and reports only when several accounts report."""

from __future__ import annotations

import polars as pl

from ringscope.graph.hetero import build_hetero_graph
from ringscope.ranking.labels import actor_labels
from tests.conftest import MIN, T0, make_events


def test_suspensions_and_repeated_reports_are_labels_with_their_times():
    rows = [
        {"ts": T0 + i * MIN, "actor_id": a, "event_type": "login"} for i, a in enumerate("abcdef")
    ]
    rows += [
        {"ts": T0 + 10 * MIN, "actor_id": "a", "event_type": "suspension"},
        {"ts": T0 + 20 * MIN, "actor_id": "c", "event_type": "report", "target_id": "b"},
        {"ts": T0 + 30 * MIN, "actor_id": "c", "event_type": "report", "target_id": "b"},
        {"ts": T0 + 40 * MIN, "actor_id": "d", "event_type": "report", "target_id": "b"},
        {"ts": T0 + 50 * MIN, "actor_id": "d", "event_type": "report", "target_id": "e"},
    ]
    events = make_events(rows)
    graph = build_hetero_graph(events)
    labels = actor_labels(events, graph, min_reporters=2).join(
        graph.nodes["actor"].select(pl.col("idx").alias("actor"), "actor_id"), on="actor"
    )
    got = {r["actor_id"]: (r["ts"], r["source"]) for r in labels.iter_rows(named=True)}
    # b: the second *distinct* reporter makes the label; e: one report is not a label
    assert got == {"a": (T0 + 10 * MIN, "suspension"), "b": (T0 + 40 * MIN, "reports")}
    assert labels["label"].all()


def test_reporters_in_one_cluster_count_as_one_voice():
    rows = [
        {"ts": T0 + i * MIN, "actor_id": a, "event_type": "login"} for i, a in enumerate("vxyz")
    ]
    rows += [
        {"ts": T0 + (10 + i) * MIN, "actor_id": a, "event_type": "report", "target_id": "v"}
        for i, a in enumerate("xyz")
    ]
    events = make_events(rows)
    graph = build_hetero_graph(events)
    idx = dict(graph.nodes["actor"].select("actor_id", "idx").iter_rows())
    brigade = pl.DataFrame({"actor": [idx[a] for a in "xyz"], "community": [7, 7, 7]})
    assert actor_labels(events, graph, min_reporters=2, communities=brigade).height == 0
    split = brigade.with_columns(pl.Series("community", [7, 7, 8]))
    labelled = actor_labels(events, graph, min_reporters=2, communities=split)
    assert labelled["actor"].to_list() == [idx["v"]]
    assert labelled["ts"].to_list() == [T0 + 12 * MIN]  # the first report of the second voice
