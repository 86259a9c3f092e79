"""The ``embeddings`` pipeline step: train the graph encoder, publish vectors and weights.

Runs after ``communities`` and before ``ranking``. Outputs:

- ``state.embeddings``: a polars frame, one row per actor node of the graph, with
  ``actor`` (u32, the actor node index used by every other step's tables) and
  ``embedding`` (``Array(Float32, dim)``, unit length; cosine = dot product).
  ``state.embeddings["embedding"].to_numpy()`` is the ``[n_actors, dim]`` matrix in
  ``actor`` order. ``None`` when the step is skipped (disabled, or torch missing).
- snapshot table ``embeddings.parquet``: ``actor_id``, ``embedding`` (list[f32]) for
  every actor that acted.
- snapshot file ``gnn_encoder.pt``: weights, feature standardisation and item context
  for :func:`ringscope.embeddings.inductive.embed_new_actor`.

torch is imported here only when the step runs, so ``import ringscope`` stays light.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from ringscope.run_state import RunState

__all__ = ["EMBEDDINGS_TABLE", "ENCODER_FILE", "embeddings_step"]

EMBEDDINGS_TABLE = "embeddings"
ENCODER_FILE = "gnn_encoder.pt"

log = logging.getLogger(__name__)


def _missing_engine() -> str | None:
    """Name of the missing package, or None when torch imports (the step needs no PyG)."""
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        return exc.name or "torch"
    return None


def embeddings_step(state: RunState) -> dict[str, Any]:
    """Train the hetero SAGE encoder on the run's graph; counts and timings for the manifest."""
    cfg = state.config.embeddings
    if not cfg.enabled:
        return {"status": "skipped", "reason": "disabled in config (embeddings.enabled)"}
    missing = _missing_engine()
    if missing is not None:
        reason = f"{missing} is not installed (install the extra: pip install 'ringscope[gnn]')"
        log.warning("embeddings step skipped: %s", reason)
        return {"status": "skipped", "reason": reason}

    from ringscope.embeddings.hetero_data import graph_tensors
    from ringscope.embeddings.inductive import INDUCTIVE_RELATIONS, build_encoder, save_encoder
    from ringscope.embeddings.train import HeteroSAGEEmbedder, unit_embeddings
    from ringscope.ranking.features import actor_features

    activity = actor_features(state.ingest.events, state.graph)
    data = graph_tensors(state.graph, activity)
    embedder = HeteroSAGEEmbedder(
        dim=cfg.dim,
        epochs=cfg.epochs,
        lr=cfg.lr,
        seed=cfg.seed,
        device=cfg.device,
        max_seconds=cfg.max_train_seconds,
        label_weight=cfg.label_weight,
        threads=cfg.threads or None,
    ).fit(data)
    states = embedder.layer_states(data)
    vectors = unit_embeddings(states)["actor"]
    state.embeddings = pl.DataFrame(
        {
            "actor": np.arange(vectors.shape[0], dtype=np.uint32),
            "embedding": pl.Series(vectors, dtype=pl.Array(pl.Float32, cfg.dim)),
        }
    )
    actors = state.graph.nodes["actor"]
    state.tables[EMBEDDINGS_TABLE] = (
        state.embeddings.join(actors.select(pl.col("idx").alias("actor"), "actor_id"), on="actor")
        .filter(pl.col("actor_id").is_not_null())
        .select("actor_id", pl.col("embedding").cast(pl.List(pl.Float32)))
        .sort("actor_id")
    )
    keys = {t: state.graph.nodes[t]["key"].to_list() for t in INDUCTIVE_RELATIONS}
    encoder = build_encoder(embedder, data, keys, states)
    state.files[ENCODER_FILE] = lambda path: save_encoder(encoder, path)
    return {
        "status": "trained",
        "device": str(embedder.device_),
        "dim": cfg.dim,
        "threads": cfg.threads,
        "epochs": embedder.epochs_,
        "stopped_by_time": embedder.stopped_by_time_,
        "train_seconds": round(embedder.seconds_, 3),
        "final_loss": round(embedder.losses_[-1], 4) if embedder.losses_ else None,
        "labelled_bad_actors": embedder.n_positive_labels_,
        "edges": data.num_edges(),
    }
