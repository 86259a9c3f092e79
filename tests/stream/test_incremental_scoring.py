"""Between refits a micro-batch scores only the actors whose model inputs changed, and
publishes exactly what scoring every actor with the kept models publishes.

A real world arrives in three sealed parts; the first batch fits the content and risk
models, the next two keep them (a refit growth no part reaches). Before the third batch
the stream root is copied and the copy's kept scores are dropped, so the copy's batch
scores every actor: the two snapshots must be the same, table for table.
"""

from __future__ import annotations

import gzip
import itertools
import shutil
from pathlib import Path

import orjson
import pytest

from ringscope.privacy import Keyring
from ringscope.snapshot import latest_snapshot, read_manifest, read_table
from ringscope.stream.check import EventChecker
from ringscope.stream.compact import rebase_generation
from ringscope.stream.kept_file import load_kept, save_kept
from ringscope.stream.log import EventLog
from ringscope.stream.worker import BatchWorker
from ringscope.worlds import WorldConfig, generate_world, write_world

SECRET = "incremental-scoring-secret-012345"


def _parts(tmp: Path, seed: int) -> list[list[dict]]:
    """A generated world's events in time order, cut at 80% and 90%."""
    world = write_world(generate_world(WorldConfig(n_legit=200), seed=seed), tmp / "world")
    with gzip.open(next(p for p in world if p.name.startswith("events")), "rb") as fh:
        events = sorted(
            (orjson.loads(line) for line in fh if line.strip()), key=lambda e: str(e["ts"])
        )
    cuts = [0, len(events) * 8 // 10, len(events) * 9 // 10, len(events)]
    return [events[a:b] for a, b in itertools.pairwise(cuts)]


def _append(root: Path, events: list[dict]) -> None:
    log = EventLog(root).open()
    log.append(EventChecker(Keyring(SECRET.encode())).check(events))
    log.seal()
    log.close()


def _batch(worker: BatchWorker, root: Path, config: Path) -> Path:
    assert worker.run({"root": str(root), "config": str(config), "demo_key": False}) == 0
    return latest_snapshot(root)


def _ranking(snapshot: Path) -> dict:
    return read_manifest(snapshot)["steps"]["ranking"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [4, 7])
def test_a_batch_scored_incrementally_equals_one_scored_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setenv("RINGSCOPE_SECRET_KEY", SECRET)
    config = tmp_path / "stream.toml"
    config.write_text("[stream]\nrefit_growth = 10.0\n")
    first, second, third = _parts(tmp_path, seed)
    root, full = tmp_path / "root", tmp_path / "full"
    root.mkdir()
    worker = BatchWorker(tmp_path / "batches.log", max_runs=100, max_rss_mb=float("inf"))
    try:
        _append(root, first)
        assert _ranking(_batch(worker, root, config))["risk_model"]["stream"]["refit"] is True
        _append(root, second)
        kept = _ranking(_batch(worker, root, config))
        assert kept["risk_model"]["stream"]["refit"] is False
        assert kept["content_model"]["kept"] is True

        shutil.copytree(root, full)
        cache = load_kept(full, rebase_generation(full))
        assert cache.scored is not None
        cache.scored = None  # the copy scores every actor
        save_kept(full, rebase_generation(full), cache)
        for where in (root, full):
            _append(where, third)
        incremental, everyone = _batch(worker, root, config), _batch(worker, full, config)
    finally:
        worker.close()

    scored = _ranking(incremental)["risk_model"]["stream"]["actors_scored"]
    n_actors = _ranking(everyone)["risk_model"]["n_actors"]
    assert _ranking(everyone)["risk_model"]["stream"]["actors_scored"] == n_actors
    assert 0 < scored < n_actors
    assert _ranking(incremental)["content_model"]["kept"] is True
    for table in ("actors", "clusters", "members"):
        mine, theirs = read_table(incremental, table), read_table(everyone, table)
        assert mine.height > 0
        assert mine.equals(theirs), table
    assert read_table(incremental, "actors")["risk_score"].is_not_null().all()
    validation = _ranking(incremental)["risk_model"]["validation"]
    assert validation == _ranking(everyone)["risk_model"]["validation"]
