"""The embeddings pipeline step: snapshot table, encoder file, manifest, skips."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from ringscope.config import RunConfig
from ringscope.embeddings.inductive import embed_new_actor, load_encoder
from ringscope.pipeline import run_pipeline
from ringscope.privacy import load_keyring
from ringscope.snapshot import read_manifest, read_table

from .conftest import TEST_EMBEDDINGS


def test_snapshot_holds_embeddings_and_a_loadable_encoder(world):
    manifest = read_manifest(world.snapshot)
    step = manifest["steps"]["embeddings"]
    assert step["status"] == "trained"
    assert step["epochs"] == TEST_EMBEDDINGS["epochs"]
    assert step["device"] == "cpu"
    assert list(manifest["timings"]).index("embeddings") < list(manifest["timings"]).index(
        "ranking"
    )
    table = read_table(world.snapshot, "embeddings")
    assert table.schema == pl.Schema({"actor_id": pl.String, "embedding": pl.List(pl.Float32)})
    actors = read_table(world.snapshot, "actors")
    assert sorted(table["actor_id"].to_list()) == sorted(actors["actor_id"].to_list())
    vectors = np.stack(table["embedding"].to_list())
    assert vectors.shape == (table.height, step["dim"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    encoder = load_encoder(world.snapshot / "gnn_encoder.pt")
    assert embed_new_actor(encoder, {"ip": ["unseen"]}).shape == (step["dim"],)


def test_off_by_default_publishes_no_embeddings(world, tmp_path):
    config = RunConfig()
    snap = run_pipeline(
        [world.events_path], tmp_path, config=config, keyring=load_keyring(allow_demo=True)
    )
    assert read_manifest(snap)["steps"]["embeddings"]["status"] == "skipped"
    assert not (snap / "embeddings.parquet").exists()
    assert not (snap / "gnn_encoder.pt").exists()
    assert (snap / "clusters.parquet").exists()


@pytest.mark.slow
def test_without_torch_the_run_skips_the_step_and_says_why(world, tmp_path):
    """A core-only install (no ``gnn`` extra) still publishes a snapshot."""
    code = f"""
import importlib.abc, sys

class NoTorch(importlib.abc.MetaPathFinder):  # as if the gnn extra were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torch_geometric"):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

sys.meta_path.insert(0, NoTorch())
from pathlib import Path
from ringscope.config import RunConfig
from ringscope.pipeline import run_pipeline
from ringscope.privacy import load_keyring
config = RunConfig().with_overrides({{"embeddings.enabled": True}})
snap = run_pipeline([Path({str(world.events_path)!r})], Path({str(tmp_path)!r}),
                    config=config, keyring=load_keyring(allow_demo=True))
print(snap)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    snap = out.stdout.strip().splitlines()[-1]
    step = json.loads((tmp_path / snap.rsplit("/", 1)[-1] / "manifest.json").read_text())
    assert step["steps"]["embeddings"]["status"] == "skipped"
    assert "torch is not installed" in step["steps"]["embeddings"]["reason"]
    assert "embeddings step skipped" in out.stderr
