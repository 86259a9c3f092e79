"""A stream's kept risk model: scoring with it, and when it is fitted again.

Scoring the data a fit saw with the kept fold models gives the fit's own out-of-fold
risk (the same fold model per actor, the same training labels in the label shares), so
a stream batch between refits is the batch run's ranking where nothing changed; a batch
run keeps nothing and reports no stream state.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import polars as pl
import pytest

from ringscope.config import RunConfig
from ringscope.pipeline import run_pipeline
from ringscope.privacy import Keyring
from ringscope.ranking.kept_models import ModelCache
from ringscope.snapshot import latest_snapshot, read_manifest, read_table
from ringscope.worlds import WorldConfig, generate_world, write_world

KEYRING = Keyring(b"kept-models-test-secret-01234567")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("kept")
    paths = write_world(generate_world(WorldConfig(n_legit=200), seed=4), base / "world")
    return next(p for p in paths if p.name.startswith("events"))


def _risk(snapshot: Path) -> pl.DataFrame:
    return read_table(snapshot, "actors").select("actor_id", "risk_score").sort("actor_id")


def _risk_report(snapshot: Path) -> dict:
    return read_manifest(snapshot)["steps"]["ranking"]["risk_model"]


@pytest.mark.slow
def test_kept_model_scores_unchanged_data_as_the_fit(world: Path, tmp_path: Path) -> None:
    batch = run_pipeline([world], tmp_path / "batch", config=RunConfig(), keyring=KEYRING)
    assert _risk_report(batch)["used"] == "learned"
    assert "stream" not in _risk_report(batch)

    cache = ModelCache()
    root = tmp_path / "stream"
    first = run_pipeline([world], root, config=RunConfig(), keyring=KEYRING, models=cache)
    assert _risk_report(first)["stream"]["refit"] is True
    assert cache.risk is not None
    second = run_pipeline([world], root, config=RunConfig(), keyring=KEYRING, models=cache)
    # the first batch after a fit scores every actor (nothing scored by the kept model yet)
    n_actors = _risk_report(second)["n_actors"]
    assert _risk_report(second)["stream"] == {
        "refit": False,
        "batches_since_fit": 1,
        "actors_scored": n_actors,
    }

    for snapshot in (first, second):
        joined = _risk(batch).join(_risk(snapshot), on="actor_id", suffix="_other")
        assert joined.height == _risk(batch).height
        diff = (joined["risk_score"] - joined["risk_score_other"]).abs().max()
        assert diff < 1e-9
    assert _risk_report(second)["validation"] == _risk_report(batch)["validation"]


@pytest.mark.slow
def test_new_events_are_scored_then_a_grown_history_refits(world: Path, tmp_path: Path) -> None:
    with gzip.open(world, "rb") as fh:
        events = [orjson.loads(line) for line in fh if line.strip()]
    events.sort(key=lambda e: str(e["ts"]))  # roughly time order, as a live source sends
    half = tmp_path / "half.jsonl"
    half.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events[: len(events) * 3 // 4]))
    cache = ModelCache()
    root = tmp_path / "stream"
    # growth too small to trigger a refit: the new actors are scored by the kept models
    loose = RunConfig().with_overrides({"stream.refit_growth": 10.0})
    run_pipeline([half], root, config=loose, keyring=KEYRING, models=cache)
    first = latest_snapshot(root)
    fitted_on = cache.fitted_events
    assert fitted_on == read_manifest(first)["events"]
    kept = run_pipeline([world], root, config=loose, keyring=KEYRING, models=cache)
    report = _risk_report(kept)
    assert report["stream"]["refit"] is False
    assert read_manifest(kept)["events"] > fitted_on
    # the new events changed the actors' features, and the kept models scored them
    joined = _risk(first).join(_risk(kept), on="actor_id", suffix="_kept")
    assert (joined["risk_score"] - joined["risk_score_kept"]).abs().max() > 0.01
    assert _risk(kept)["risk_score"].is_not_null().all()
    # ring members still rank far above the rest with the kept model
    assert report["validation"]["vs_never_flagged"]["auroc"] > 0.8

    grown = run_pipeline([world], root, config=RunConfig(), keyring=KEYRING, models=cache)
    assert _risk_report(grown)["stream"]["refit"] is True
    assert "events grew" in _risk_report(grown)["stream"]["why"]
    assert cache.fitted_events == read_manifest(grown)["events"]


def _fitted_cache(config: RunConfig) -> ModelCache:
    cache = ModelCache()
    # any kept object stands for a fit here: the policy only reads the counts
    labels = frozenset({("a", True), ("b", True)})
    cache.fitted(object(), None, config, 1000, labels, True)  # type: ignore[arg-type]
    return cache


def test_refit_schedule() -> None:
    config = RunConfig().with_overrides({"stream.refit_every": 3})
    labels = frozenset({("a", True), ("b", True)})
    assert "no kept model" in ModelCache().refit_reason(config, 10, labels, True)
    cache = _fitted_cache(config)
    assert cache.refit_reason(config, 1000, labels, True) is None
    cache.reused(None)
    assert cache.refit_reason(config, 1000, labels, True) is None
    cache.reused(None)
    assert "3 batches" in cache.refit_reason(config, 1000, labels, True)

    cache = _fitted_cache(config)
    assert cache.refit_reason(config, 1250, labels, True) is None
    assert "events grew" in cache.refit_reason(config, 1251, labels, True)
    assert "labels changed" in cache.refit_reason(config, 1000, labels | {("c", True)}, True)
    assert "labels changed" in cache.refit_reason(config, 1000, frozenset({("a", True)}), True)
    other = config.with_overrides({"risk_model.folds": 5})
    assert "settings changed" in cache.refit_reason(other, 1000, labels, True)
    assert "content features" in cache.refit_reason(config, 1000, labels, False)
    cache.fitted(None, None, config, 1000, labels, True)  # a fit that kept nothing: fit again
    assert "kept none" in cache.refit_reason(config, 1000, labels, True)
