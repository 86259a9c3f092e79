"""The typed event graph as tensors for graph neural networks, and as PyG ``HeteroData``.

The GNN works on the actor-centred view of :class:`~ringscope.graph.hetero.HeteroGraph`:
message nodes are folded away (an actor *linked* the domains, *wrote* the content bands
and *messaged* the recipients of the messages it sent), because messages outnumber every
other node type, carry nothing of their own beyond sender, recipients and contents, and
would dominate memory and time of full-batch training. Edges are distinct
``(src, dst)`` pairs; time stays with the coordination layer, which is built for it.

Every relation also gets its reverse (``rev_<relation>``) so that information flows
both ways: actors learn from the items they use, items from the actors that use them.
Node features are activity statistics (actors) and per-relation degrees (all types),
``log1p``-compressed; standardising them is the encoder's job (it must be repeatable
for actors seen later).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import torch

from ringscope.graph.hetero import HeteroGraph

if TYPE_CHECKING:
    from torch_geometric.data import HeteroData

__all__ = [
    "ACTIVITY_COLUMNS",
    "GNN_NODE_TYPES",
    "GNN_RELATIONS",
    "EdgeType",
    "GraphTensors",
    "actor_item_edges",
    "graph_tensors",
    "node_features",
    "reverse",
    "tensors_from_edges",
    "to_hetero_data",
]

EdgeType = tuple[str, str, str]

GNN_NODE_TYPES = ("actor", "ip", "subnet", "device", "identity", "domain", "content")

#: Forward relations of the actor-centred graph; each also exists reversed.
GNN_RELATIONS: tuple[EdgeType, ...] = (
    ("actor", "used", "ip"),
    ("actor", "used", "device"),
    ("actor", "signup_from", "subnet"),
    ("actor", "has", "identity"),
    ("actor", "linked", "domain"),
    ("actor", "wrote", "content"),
    ("actor", "messaged", "actor"),
    ("actor", "reported", "actor"),
    ("ip", "in", "subnet"),
)

#: Actor activity statistics (from ``ranking.features.actor_features``) used as features.
ACTIVITY_COLUMNS = (
    "n_events",
    "n_messages",
    "n_devices",
    "n_ips",
    "n_reporters",
    "n_recipients",
    "n_strangers",
    "n_oneshot_strangers",
)

_DAY_MS = 86_400_000


def reverse(edge_type: EdgeType) -> EdgeType:
    """The reverse of a forward relation: endpoints swapped, ``rev_`` prefix."""
    src, rel, dst = edge_type
    return (dst, f"rev_{rel}", src)


def _pairs(df: pl.DataFrame, src: str = "src", dst: str = "dst") -> pl.DataFrame:
    """Distinct (src, dst) pairs as u32 columns named ``src``/``dst``, sorted."""
    return (
        df.select(
            pl.col(src).cast(pl.UInt32).alias("src"), pl.col(dst).cast(pl.UInt32).alias("dst")
        )
        .unique()
        .sort("src", "dst")
    )


def actor_item_edges(graph: HeteroGraph) -> dict[EdgeType, pl.DataFrame]:
    """Distinct-pair edge tables of :data:`GNN_RELATIONS`, messages folded into senders."""
    sent = graph.edges[("actor", "sent", "message")].select(
        pl.col("src").alias("actor"), pl.col("dst").alias("msg")
    )
    sent = sent.unique()

    def via_message(relation: EdgeType) -> pl.DataFrame:
        item = graph.edges[relation].select(pl.col("src").alias("msg"), pl.col("dst").alias("item"))
        return _pairs(sent.join(item.unique(), on="msg"), "actor", "item")

    messaged = via_message(("message", "to", "actor")).filter(pl.col("src") != pl.col("dst"))
    return {
        ("actor", "used", "ip"): _pairs(graph.edges[("actor", "used", "ip")]),
        ("actor", "used", "device"): _pairs(graph.edges[("actor", "used", "device")]),
        ("actor", "signup_from", "subnet"): _pairs(graph.edges[("actor", "signup_from", "subnet")]),
        ("actor", "has", "identity"): _pairs(graph.edges[("actor", "has", "identity")]),
        ("actor", "linked", "domain"): via_message(("message", "links", "domain")),
        ("actor", "wrote", "content"): via_message(("message", "has", "content")),
        ("actor", "messaged", "actor"): messaged,
        ("actor", "reported", "actor"): _pairs(
            graph.edges[("actor", "reported", "actor")].filter(pl.col("src") != pl.col("dst"))
        ),
        ("ip", "in", "subnet"): _pairs(graph.edges[("ip", "in", "subnet")]),
    }


def _degree_columns(
    node_type: str, num_nodes: int, edges: dict[EdgeType, pl.DataFrame]
) -> dict[str, np.ndarray]:
    """``log1p`` degree of every node of ``node_type`` in each relation it takes part in."""
    out: dict[str, np.ndarray] = {}
    for (src, rel, dst), df in edges.items():
        # named from the node's side: "used_ip" on an actor, "actor_used" on an ip
        for side, column, name in ((src, "src", f"{rel}_{dst}"), (dst, "dst", f"{src}_{rel}")):
            if side == node_type:
                counts = np.bincount(df[column].to_numpy(), minlength=num_nodes)
                out[name] = np.log1p(counts.astype(np.float32))
    return out


def _activity_columns(activity: pl.DataFrame, num_actors: int) -> dict[str, np.ndarray]:
    """Activity statistics per actor index; actors that never acted get zeros."""
    frame = (
        pl.DataFrame({"actor": np.arange(num_actors, dtype=np.uint32)})
        .join(activity.with_columns(pl.col("actor").cast(pl.UInt32)), on="actor", how="left")
        .sort("actor")
    )
    out = {
        name: np.log1p(frame[name].fill_null(0).cast(pl.Float32).to_numpy())
        for name in ACTIVITY_COLUMNS
    }
    span = (frame["last_ts"] - frame["first_ts"]).fill_null(0).cast(pl.Float32) / _DAY_MS
    out["active_days"] = np.log1p(span.to_numpy())
    out["signed_up"] = frame["signup_ts"].is_not_null().cast(pl.Float32).to_numpy()
    out["acted"] = frame["n_events"].is_not_null().cast(pl.Float32).to_numpy()
    return out


def node_features(
    node_type: str,
    num_nodes: int,
    edges: dict[EdgeType, pl.DataFrame],
    activity: pl.DataFrame | None = None,
) -> tuple[list[str], np.ndarray]:
    """Feature names and the ``[num_nodes, F]`` float32 matrix of one node type.

    Every type gets a constant column (so a node without edges still has an input) and
    its per-relation degrees; actors add activity statistics when ``activity`` is given.
    """
    columns = {"bias": np.ones(num_nodes, dtype=np.float32)}
    columns |= _degree_columns(node_type, num_nodes, edges)
    if node_type == "actor" and activity is not None:
        columns |= _activity_columns(activity, num_nodes)
    names = list(columns)
    return names, np.stack([columns[n] for n in names], axis=1).astype(np.float32)


@dataclass(frozen=True)
class GraphTensors:
    """The actor-centred graph as plain torch tensors: what training reads.

    Training and the pipeline step work on this rather than on ``HeteroData`` so a run
    does not pay for importing torch-geometric (seconds and ~150 MB);
    :meth:`to_hetero_data` gives the PyG form.
    """

    x: dict[str, torch.Tensor]  # node type -> [N, F] float32
    feature_names: dict[str, list[str]]
    edge_index: dict[EdgeType, torch.Tensor]  # relation -> [2, E] int64, reverses included
    y: torch.Tensor | None = None  # [N_actor] float32 known_bad, when activity was given

    @property
    def node_types(self) -> list[str]:
        """Node types, in :data:`GNN_NODE_TYPES` order."""
        return list(self.x)

    @property
    def edge_types(self) -> list[EdgeType]:
        """Every relation, forward and reverse."""
        return list(self.edge_index)

    def num_nodes(self, node_type: str) -> int:
        """Number of nodes of one type."""
        return self.x[node_type].shape[0]

    def num_edges(self) -> int:
        """Edges of the forward relations (each also exists reversed)."""
        return sum(self.edge_index[et].shape[1] for et in GNN_RELATIONS)

    def to_hetero_data(self) -> HeteroData:
        """PyG ``HeteroData``: ``x``, ``feature_names``, ``num_nodes`` (and ``y`` on
        actors) per node type, ``edge_index`` per relation."""
        from torch_geometric.data import HeteroData

        data = HeteroData()
        for t, x in self.x.items():
            data[t].x = x
            data[t].feature_names = self.feature_names[t]
            data[t].num_nodes = x.shape[0]
        for et, index in self.edge_index.items():
            data[et].edge_index = index
        if self.y is not None:
            data["actor"].y = self.y
        return data


def graph_tensors(graph: HeteroGraph, activity: pl.DataFrame | None = None) -> GraphTensors:
    """The actor-centred typed graph with features and reverse edges, as tensors.

    Args:
        graph: the run's typed event graph.
        activity: per-actor statistics as produced by
            :func:`ringscope.ranking.features.actor_features` (column ``actor`` is the
            actor node index); its ``known_bad`` becomes the label ``y``.
    """
    num_nodes = {t: graph.num_nodes(t) for t in GNN_NODE_TYPES}
    return tensors_from_edges(num_nodes, actor_item_edges(graph), activity)


def to_hetero_data(graph: HeteroGraph, activity: pl.DataFrame | None = None) -> HeteroData:
    """The actor-centred typed graph as PyG ``HeteroData`` (see :func:`graph_tensors`)."""
    return graph_tensors(graph, activity).to_hetero_data()


def tensors_from_edges(
    num_nodes: dict[str, int],
    edges: dict[EdgeType, pl.DataFrame],
    activity: pl.DataFrame | None = None,
) -> GraphTensors:
    """:class:`GraphTensors` from node counts and distinct-pair tables of :data:`GNN_RELATIONS`.

    :func:`graph_tensors` is this over a run's graph; it is separate so that an edited
    edge set (an actor's edges withheld, say) is built the same way.
    """
    x, names = {}, {}
    for node_type in GNN_NODE_TYPES:
        names[node_type], features = node_features(node_type, num_nodes[node_type], edges, activity)
        x[node_type] = torch.from_numpy(features)
    edge_index = {}
    for edge_type in GNN_RELATIONS:
        df = edges[edge_type]
        index = torch.from_numpy(df.select("src", "dst").to_numpy().astype(np.int64).T.copy())
        edge_index[edge_type] = index
        edge_index[reverse(edge_type)] = index.flip(0)
    y = None
    if activity is not None:
        labels = (
            pl.DataFrame({"actor": np.arange(num_nodes["actor"], dtype=np.uint32)})
            .join(
                activity.select(pl.col("actor").cast(pl.UInt32), "known_bad"),
                on="actor",
                how="left",
            )
            .sort("actor")["known_bad"]
            .fill_null(False)
        )
        y = torch.from_numpy(labels.to_numpy().astype(np.float32))
    return GraphTensors(x=x, feature_names=names, edge_index=edge_index, y=y)
