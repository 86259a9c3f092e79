"""The trained encoder as a file, and embeddings for actors the training never saw.

A new account (at signup, or any actor not in the last snapshot) is embedded from its
own edges — the IPs, /24s, devices, identifiers and link domains it used — with the
trained weights and the stored states of those items in the training graph. That is the
GraphSAGE inductive step: the new actor's vector lands next to the ring whose devices
and identifiers it reuses, without retraining.

Item keys are the graph's node keys (``HeteroGraph.nodes[type]["key"]``): keyed hashes
made with the run's secret (``Keyring.hash``), ``<kind>:<hash>`` for identities, the
registered domain for domains. Items the training graph never saw still count in the
actor's own degree features but link it to no one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from ringscope.embeddings.hetero_data import (
    ACTIVITY_COLUMNS,
    GNN_RELATIONS,
    EdgeType,
    GraphTensors,
    node_features,
    reverse,
)
from ringscope.embeddings.model import HeteroSAGE
from ringscope.embeddings.train import FeatureScaler, HeteroSAGEEmbedder
from ringscope.errors import InputError, SnapshotError

__all__ = [
    "INDUCTIVE_RELATIONS",
    "NEW_ACTOR_ACTIVITY",
    "GnnEncoder",
    "ItemContext",
    "build_encoder",
    "embed_new_actor",
    "load_encoder",
    "save_encoder",
]

FORMAT = "ringscope-gnn-encoder/1"
DAY_MS = 86_400_000

#: What ``embed_new_actor`` may be told about the actor, with the defaults of a fresh
#: signup: raw counts of ``ACTIVITY_COLUMNS``, days between first and last event, and
#: whether the log holds its signup.
NEW_ACTOR_ACTIVITY: dict[str, float] = {c: 0 for c in ACTIVITY_COLUMNS} | {
    "n_events": 1,
    "active_days": 0.0,
    "signed_up": 1,
}

#: Item types a new actor can be embedded from, and the relation that links it to them.
INDUCTIVE_RELATIONS: dict[str, EdgeType] = {
    "ip": ("actor", "used", "ip"),
    "device": ("actor", "used", "device"),
    "subnet": ("actor", "signup_from", "subnet"),
    "identity": ("actor", "has", "identity"),
    "domain": ("actor", "linked", "domain"),
}


@dataclass
class ItemContext:
    """One item type of the training graph: key -> row, standardised features, states.

    ``states[l]`` holds the items' output of layer ``l + 1`` (the inputs of layer
    ``l + 2``); the projection of ``x`` is the input of the first layer.
    """

    keys: list[str]
    x: Tensor
    states: list[Tensor]
    row_of: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.row_of = {k: i for i, k in enumerate(self.keys)}

    def rows(self, keys: Iterable[str]) -> list[int]:
        """Rows of the known keys among ``keys`` (each key once)."""
        return sorted({self.row_of[k] for k in keys if k in self.row_of})


@dataclass(frozen=True)
class GnnEncoder:
    """Trained weights, feature standardisation and item context of one run."""

    model: HeteroSAGE
    scaler: FeatureScaler
    feature_names: dict[str, list[str]]
    context: dict[str, ItemContext]
    _fresh: dict[tuple[tuple[str, int], ...], Tensor] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def dim(self) -> int:
        """Embedding width."""
        return self.model.layers[-1].lin["actor"].out_features


def build_encoder(
    embedder: HeteroSAGEEmbedder,
    data: GraphTensors,
    node_keys: dict[str, list[str]],
    states: list[dict[str, Tensor]],
) -> GnnEncoder:
    """Bundle a fitted embedder with the item context the inductive path needs.

    Args:
        embedder: fitted on ``data``.
        data: the run's graph (``x`` and ``feature_names`` per node type).
        node_keys: node keys per item type of :data:`INDUCTIVE_RELATIONS`, in index order.
        states: ``embedder.layer_states(data)``.
    """
    scaler = embedder.scaler_
    context = {
        t: ItemContext(
            keys=list(node_keys[t]),
            x=scaler.transform(t, data.x[t]),
            states=[h[t].contiguous() for h in states[1:-1]],
        )
        for t in INDUCTIVE_RELATIONS
    }
    return GnnEncoder(embedder.model_.cpu(), scaler, data.feature_names, context)


def save_encoder(encoder: GnnEncoder, path: Path) -> None:
    """Write the encoder as plain tensors and lists (loadable with ``weights_only=True``)."""
    model = encoder.model
    payload = {
        "format": FORMAT,
        "model": {
            "in_dims": {t: lin.in_features for t, lin in model.proj.items()},
            "edge_types": [list(et) for et in model.layers[0].edge_types],
            "hidden": model.proj["actor"].out_features,
            "out": encoder.dim,
            "num_layers": len(model.layers),
        },
        "state_dict": model.state_dict(),
        "scaler": {"mean": encoder.scaler.mean, "std": encoder.scaler.std},
        "feature_names": encoder.feature_names,
        "context": {
            t: {"keys": c.keys, "x": c.x, "states": c.states} for t, c in encoder.context.items()
        },
    }
    torch.save(payload, path)


def load_encoder(path: Path) -> GnnEncoder:
    """Read a file written by :func:`save_encoder` (e.g. a snapshot's ``gnn_encoder.pt``)."""
    path = Path(path)
    if not path.is_file():
        raise SnapshotError(f"encoder file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which, keep one line
        raise SnapshotError(f"{path} is not a readable encoder file: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise SnapshotError(f"{path} is not a {FORMAT} file")
    spec = payload["model"]
    model = HeteroSAGE(
        spec["in_dims"],
        [tuple(et) for et in spec["edge_types"]],
        hidden=spec["hidden"],
        out=spec["out"],
        num_layers=spec["num_layers"],
    )
    model.load_state_dict(payload["state_dict"])
    model.eval()
    context = {
        t: ItemContext(keys=c["keys"], x=c["x"], states=c["states"])
        for t, c in payload["context"].items()
    }
    scaler = FeatureScaler(mean=payload["scaler"]["mean"], std=payload["scaler"]["std"])
    return GnnEncoder(model, scaler, payload["feature_names"], context)


def _new_actor_features(
    encoder: GnnEncoder, item_counts: dict[str, int], activity: Mapping[str, float]
) -> Tensor:
    """Standardised ``[1, F]`` features of a new actor, built as in training."""
    unknown = set(activity) - set(NEW_ACTOR_ACTIVITY)
    if unknown:
        valid = ", ".join(NEW_ACTOR_ACTIVITY)
        raise InputError(f"unknown activity {sorted(unknown)}; valid: {valid}")
    edges = {et: pl.DataFrame(schema=_EDGE_SCHEMA) for et in GNN_RELATIONS}
    for item_type, n in item_counts.items():
        edges[INDUCTIVE_RELATIONS[item_type]] = pl.DataFrame(
            {"src": [0] * n, "dst": list(range(n))}, schema=_EDGE_SCHEMA
        )
    given = NEW_ACTOR_ACTIVITY | dict(activity)
    frame = pl.DataFrame(
        {"actor": [0], **{c: [given[c]] for c in ACTIVITY_COLUMNS}}
        | {
            "first_ts": [0],
            "last_ts": [round(given["active_days"] * DAY_MS)],
            "signup_ts": [0 if given["signed_up"] else None],
            "known_bad": [False],
        }
    )
    names, x = node_features("actor", 1, edges, frame)
    if names != encoder.feature_names["actor"]:
        raise SnapshotError("encoder was trained on other actor features; retrain it")
    return encoder.scaler.transform("actor", torch.from_numpy(x))


_EDGE_SCHEMA = {"src": pl.UInt32, "dst": pl.UInt32}
_MAX_FRESH_PATTERNS = 4096


def _fresh_features(encoder: GnnEncoder, item_counts: dict[str, int]) -> Tensor:
    """Features of a fresh signup (default activity), built once per item-count pattern.

    They depend on nothing but the counts, and building them (a polars frame through
    ``node_features``, about 1.3 ms) costs more than the rest of an embedding, so a
    signup check embeds each attempt in well under a millisecond once its pattern (a
    handful at signup: at most one device, IP and subnet) has been seen.
    """
    pattern = tuple(sorted((t, n) for t, n in item_counts.items() if n))
    x = encoder._fresh.get(pattern)
    if x is None:
        x = _new_actor_features(encoder, dict(pattern), {})
        if len(encoder._fresh) < _MAX_FRESH_PATTERNS:
            encoder._fresh[pattern] = x
    return x


@torch.no_grad()
def embed_new_actor(
    encoder: GnnEncoder,
    item_keys: Mapping[str, Iterable[str]],
    *,
    activity: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Unit-length float32 embedding of an actor from the items it used.

    Args:
        encoder: from :func:`load_encoder` (a snapshot's ``gnn_encoder.pt``).
        item_keys: node keys per item type, e.g. ``{"ip": [...], "device": [...],
            "identity": ["email:<hash>"], "subnet": [...], "domain": ["example.com"]}``;
            types are those of :data:`INDUCTIVE_RELATIONS`.
        activity: what is known of the actor's activity (names and defaults in
            :data:`NEW_ACTOR_ACTIVITY`); the defaults describe a fresh signup (one event,
            nothing sent).

    Returns:
        ``[dim]`` vector comparable (cosine) with the snapshot's ``embeddings.parquet``.
    """
    unknown = set(item_keys) - set(INDUCTIVE_RELATIONS)
    if unknown:
        raise InputError(
            f"unknown item types {sorted(unknown)}; valid: {', '.join(INDUCTIVE_RELATIONS)}"
        )
    keys = {t: sorted(set(ks)) for t, ks in item_keys.items()}
    model = encoder.model
    counts = {t: len(k) for t, k in keys.items()}
    x = (
        _new_actor_features(encoder, counts, activity)
        if activity
        else _fresh_features(encoder, counts)
    )
    h = torch.relu(model.proj["actor"](x))
    rows = {t: encoder.context[t].rows(k) for t, k in keys.items()}
    for layer_no, layer in enumerate(model.layers):
        means: dict[EdgeType, Tensor] = {}
        for t, r in rows.items():
            if not r:
                continue
            ctx = encoder.context[t]
            prev = (
                torch.relu(model.proj[t](ctx.x[r]))
                if layer_no == 0
                else ctx.states[layer_no - 1][r]
            )
            means[reverse(INDUCTIVE_RELATIONS[t])] = prev.mean(0, keepdim=True)
        h = layer.update("actor", h, means)
        if layer_no < len(model.layers) - 1:
            h = torch.relu(h)
    return F.normalize(h, dim=1)[0].numpy().astype(np.float32)
