"""One small generated world, ingested and run once per session for the embedding tests.

The world (400 legit actors, its rings and look-alikes) goes through the real pipeline
once: the ``World`` fixture holds its events, typed graph, tensor export, ground
truth and the published snapshot, so each test reads what it needs without rebuilding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from ringscope.config import RunConfig
from ringscope.embeddings.hetero_data import GraphTensors, graph_tensors
from ringscope.graph.hetero import HeteroGraph, build_hetero_graph
from ringscope.ingest import ingest
from ringscope.pipeline import run_pipeline
from ringscope.privacy import load_keyring
from ringscope.ranking.features import actor_features
from ringscope.worlds import WorldConfig, generate_world, write_world

#: Small but complete: every ring kind, trains in about a second on two cores.
TEST_EMBEDDINGS = {"enabled": True, "epochs": 8, "seed": 7}


@dataclass(frozen=True)
class World:
    """A generated world and everything built from it."""

    events_path: Path
    graph: HeteroGraph
    activity: pl.DataFrame
    data: GraphTensors
    ring_of: dict[str, str]  # actor_id -> ring_id, ring members only
    snapshot: Path

    def ring_ids(self) -> list[str | None]:
        """Per actor node: its ground-truth ring, None for everyone else."""
        return [self.ring_of.get(a) for a in self.graph.nodes["actor"]["actor_id"].to_list()]

    def is_ring(self) -> np.ndarray:
        """Per actor node: ground-truth ring member."""
        return np.array([r is not None for r in self.ring_ids()])


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """One intra-op thread: the suite shares two cores, and idle OpenMP threads spin."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Generate, ingest and run the world once."""
    base = tmp_path_factory.mktemp("embeddings-world")
    paths = write_world(generate_world(WorldConfig(n_legit=400), seed=3), base / "world")
    events = next(p for p in paths if p.name.startswith("events"))
    truth = json.loads((base / "world" / "truth.json").read_text())
    keyring = load_keyring(allow_demo=True)
    result = ingest([events], keyring=keyring, max_reject_rate=0.05)
    graph = build_hetero_graph(result.events)
    activity = actor_features(result.events, graph)
    config = RunConfig().with_overrides({f"embeddings.{k}": v for k, v in TEST_EMBEDDINGS.items()})
    snapshot = run_pipeline([events], base / "snapshots", config=config, keyring=keyring)
    return World(
        events_path=events,
        graph=graph,
        activity=activity,
        data=graph_tensors(graph, activity),
        ring_of={a: r["ring_id"] for r in truth["rings"] for a in r["members"]},
        snapshot=snapshot,
    )
