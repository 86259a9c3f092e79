"""The PyG export: folded relations, reverse edges, features and labels."""

from __future__ import annotations

import polars as pl
import torch

from ringscope.embeddings.hetero_data import (
    GNN_NODE_TYPES,
    GNN_RELATIONS,
    actor_item_edges,
    reverse,
    to_hetero_data,
)
from ringscope.graph.hetero import build_hetero_graph


def _actor(graph, actor_id: str) -> int:
    return graph.nodes["actor"].filter(pl.col("actor_id") == actor_id)["idx"].item()


def test_messages_fold_into_their_senders(ring_events):
    graph = build_hetero_graph(ring_events)
    edges = actor_item_edges(graph)
    domains = graph.nodes["domain"]
    spam = domains.filter(pl.col("key") == "spam.example")["idx"].item()
    linked = edges[("actor", "linked", "domain")]
    ring = {_actor(graph, f"r{i}") for i in range(5)}
    assert set(linked.filter(pl.col("dst") == spam)["src"].to_list()) == ring
    # each ring member messaged its six one-off recipients, never itself
    messaged = edges[("actor", "messaged", "actor")]
    counts = messaged.filter(pl.col("src").is_in(list(ring))).group_by("src").len()
    assert counts["len"].to_list() == [6] * 5
    assert messaged.filter(pl.col("src") == pl.col("dst")).height == 0
    # pairs are distinct even though the ring reused its device in every wave
    device = edges[("actor", "used", "device")]
    assert device.height == device.unique().height


def test_export_has_every_type_relation_and_its_reverse(ring_events):
    graph = build_hetero_graph(ring_events)
    data = to_hetero_data(graph)  # the PyG form
    assert set(data.node_types) == set(GNN_NODE_TYPES)
    assert set(data.edge_types) == set(GNN_RELATIONS) | {reverse(et) for et in GNN_RELATIONS}
    for et in GNN_RELATIONS:
        forward, backward = data[et].edge_index, data[reverse(et)].edge_index
        assert forward.dtype == torch.int64
        assert torch.equal(forward.flip(0), backward)
        if forward.numel():
            assert int(forward[0].max()) < data[et[0]].num_nodes
            assert int(forward[1].max()) < data[et[2]].num_nodes
    for t in GNN_NODE_TYPES:
        x = data[t].x
        assert x.shape == (graph.num_nodes(t), len(data[t].feature_names))
        assert len(set(data[t].feature_names)) == len(data[t].feature_names)
        assert torch.isfinite(x).all()


def test_activity_becomes_actor_features_and_labels(world):
    data = world.data
    names = data.feature_names["actor"]
    assert {"n_messages", "n_oneshot_strangers", "acted", "used_ip", "actor_messaged"} <= set(names)
    acted = data.x["actor"][:, names.index("acted")]
    has_id = world.graph.nodes["actor"]["actor_id"].is_not_null().to_numpy()
    assert acted.numpy().astype(bool).tolist() == has_id.tolist()
    y = data.y.numpy().astype(bool)
    known_bad = world.activity.sort("actor")
    expected = set(known_bad.filter(pl.col("known_bad"))["actor"].to_list())
    assert set(y.nonzero()[0].tolist()) == expected
    assert expected, "the generated world has suspended actors"
