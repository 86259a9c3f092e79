"""Graph embeddings of actors: a heterogeneous GraphSAGE over the typed event graph.

- ``hetero_data``: the actor-centred graph as tensors (and PyG ``HeteroData``) with
  node features.
- ``model``: the hetero SAGE encoder (sparse-CSR mean aggregation per relation).
- ``train``: full-batch training, link prediction plus suspensions when known.
- ``inductive``: the encoder file and ``embed_new_actor`` for actors never seen.
- ``quality``: how well embeddings separate ring members from everyone else.
- ``step``: the pipeline step (``state.embeddings``, ``embeddings.parquet``,
  ``gnn_encoder.pt``).

Names below load torch on first use only, so ``import ringscope`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "HeteroSAGE",
    "HeteroSAGEEmbedder",
    "embed_new_actor",
    "graph_tensors",
    "load_encoder",
    "ring_separation",
    "to_hetero_data",
]

_HOME = {
    "HeteroSAGE": "ringscope.embeddings.model",
    "HeteroSAGEEmbedder": "ringscope.embeddings.train",
    "embed_new_actor": "ringscope.embeddings.inductive",
    "graph_tensors": "ringscope.embeddings.hetero_data",
    "load_encoder": "ringscope.embeddings.inductive",
    "ring_separation": "ringscope.embeddings.quality",
    "to_hetero_data": "ringscope.embeddings.hetero_data",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
