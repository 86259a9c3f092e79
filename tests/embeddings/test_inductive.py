"""The encoder file and embeddings of actors the training never saw."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pytest
import torch

from ringscope.embeddings.hetero_data import (
    ACTIVITY_COLUMNS,
    GNN_NODE_TYPES,
    GraphTensors,
    actor_item_edges,
    tensors_from_edges,
)
from ringscope.embeddings.inductive import (
    DAY_MS,
    INDUCTIVE_RELATIONS,
    GnnEncoder,
    build_encoder,
    embed_new_actor,
    load_encoder,
    save_encoder,
)
from ringscope.embeddings.train import HeteroSAGEEmbedder, unit_embeddings
from ringscope.errors import InputError, SnapshotError


@dataclass(frozen=True)
class Trained:
    """An encoder reloaded from disk, the graph it was trained on and its embeddings."""

    encoder: GnnEncoder
    data: GraphTensors
    embeddings: np.ndarray
    withheld: int  # a ring member left with identifier edges only


def _identifier_edges_only(world, actor: int) -> dict:
    """The world's edge tables with ``actor``'s non-identifier edges withheld."""
    edges = {}
    for et, df in actor_item_edges(world.graph).items():
        if et not in INDUCTIVE_RELATIONS.values():
            for column, node_type in (("src", et[0]), ("dst", et[2])):
                if node_type == "actor":
                    df = df.filter(pl.col(column) != actor)
        edges[et] = df
    return edges


@pytest.fixture(scope="module")
def trained(world, tmp_path_factory) -> Trained:
    """Train on the world with one ring member's messages withheld, save, reload."""
    withheld = int(np.flatnonzero(world.is_ring())[0])
    num_nodes = {t: world.graph.num_nodes(t) for t in GNN_NODE_TYPES}
    data = tensors_from_edges(num_nodes, _identifier_edges_only(world, withheld), world.activity)
    embedder = HeteroSAGEEmbedder(epochs=6, seed=2).fit(data)
    states = embedder.layer_states(data)
    keys = {t: world.graph.nodes[t]["key"].to_list() for t in INDUCTIVE_RELATIONS}
    path = tmp_path_factory.mktemp("encoder") / "gnn_encoder.pt"
    save_encoder(build_encoder(embedder, data, keys, states), path)
    return Trained(load_encoder(path), data, unit_embeddings(states)["actor"], withheld)


def _items_of(world, data: GraphTensors, actor: int) -> dict[str, list[str]]:
    """The node keys of every item an actor used, per item type."""
    out = {}
    for item_type, et in INDUCTIVE_RELATIONS.items():
        index = data.edge_index[et]
        keys = world.graph.nodes[item_type]["key"]
        out[item_type] = [keys[r] for r in index[1][index[0] == actor].tolist()]
    return out


def test_a_known_actor_embeds_as_in_training(world, trained):
    """The inductive path is the same function as training's forward pass."""
    actor = trained.withheld
    row = world.activity.filter(pl.col("actor") == actor).row(0, named=True)
    activity = {c: row[c] for c in ACTIVITY_COLUMNS} | {
        "active_days": (row["last_ts"] - row["first_ts"]) / DAY_MS,
        "signed_up": row["signup_ts"] is not None,
    }
    items = _items_of(world, trained.data, actor)
    assert items["device"], "the withheld ring member keeps its devices"
    vec = embed_new_actor(trained.encoder, items, activity=activity)
    np.testing.assert_allclose(vec, trained.embeddings[actor], atol=1e-5)


def test_new_account_on_a_ring_device_lands_next_to_the_ring(world, trained):
    is_ring = world.is_ring()
    items = _items_of(world, trained.data, trained.withheld)
    encoder = trained.encoder
    returning = embed_new_actor(encoder, {"device": items["device"], "ip": items["ip"]})
    stranger = embed_new_actor(encoder, {"device": ["never-seen-device"], "ip": ["nowhere"]})
    ring_centre = trained.embeddings[is_ring].mean(0)
    assert returning.shape == (encoder.dim,)
    assert float(returning @ ring_centre) > float(stranger @ ring_centre)


def test_bad_input_is_a_clear_error(trained, tmp_path):
    encoder = trained.encoder
    with pytest.raises(InputError, match="unknown item types"):
        embed_new_actor(encoder, {"phone_number": ["x"]})
    with pytest.raises(InputError, match="unknown activity"):
        embed_new_actor(encoder, {"ip": ["x"]}, activity={"followers": 3})
    with pytest.raises(SnapshotError, match="not found"):
        load_encoder(tmp_path / "missing.pt")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.ones(2)}, foreign)
    with pytest.raises(SnapshotError, match="ringscope-gnn-encoder"):
        load_encoder(foreign)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(SnapshotError, match="not a readable encoder file"):
        load_encoder(garbage)
