"""The stream's kept risk model survives its worker: a new process (a replaced worker, a
restarted server) reads it from the root and scores with it instead of fitting again,
with exactly the scores of the batch that fitted; an unreadable file or one from
before a compaction is not used, and the batch fits."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import orjson
import polars as pl
import pytest

from ringscope.privacy import Keyring
from ringscope.ranking.kept_models import ModelCache
from ringscope.snapshot import read_manifest, read_table
from ringscope.stream.batch_run import run_stream_batch
from ringscope.stream.check import EventChecker
from ringscope.stream.kept_file import KEPT_FILE, load_kept, save_kept
from ringscope.stream.log import EventLog
from ringscope.worlds import WorldConfig, generate_world, write_world

SECRET = "kept-file-test-secret-0123456789"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stream root whose log holds a small world in two sealed segments."""
    base = tmp_path_factory.mktemp("kept-file")
    world = write_world(generate_world(WorldConfig(n_legit=200), seed=4), base / "world")
    with gzip.open(next(p for p in world if p.name.startswith("events")), "rb") as fh:
        events = [orjson.loads(line) for line in fh if line.strip()]
    root = base / "root"
    root.mkdir()
    log = EventLog(root).open()
    checker = EventChecker(Keyring(SECRET.encode()))
    half = len(events) // 2
    for part in (events[:half], events[half:]):
        log.append(checker.check(part))
        log.seal()
    log.close()
    return root


def _stream_report(snapshot: Path) -> dict:
    return read_manifest(snapshot)["steps"]["ranking"]["risk_model"]["stream"]


def _risk(snapshot: Path) -> pl.DataFrame:
    return read_table(snapshot, "actors").select("actor_id", "risk_score").sort("actor_id")


@pytest.mark.slow
def test_a_new_process_scores_with_the_kept_model(root: Path, monkeypatch) -> None:
    monkeypatch.setenv("RINGSCOPE_SECRET_KEY", SECRET)
    fitted = run_stream_batch(root)
    assert _stream_report(fitted)["refit"] is True
    assert (root / "stream" / KEPT_FILE).is_file()

    # the next batch in a new interpreter, as a replaced worker or a restarted server runs it
    code = (
        "import sys; from ringscope.stream.batch_run import run_stream_batch as run; "
        "print(run(sys.argv[1]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(root)],
        capture_output=True,
        text=True,
        env=os.environ | {"RINGSCOPE_SECRET_KEY": SECRET},
        timeout=600,
        check=True,
    )
    kept = Path(done.stdout.strip().splitlines()[-1])
    assert kept != fitted
    assert _stream_report(kept) | {"actors_scored": 0} == {
        "refit": False,
        "batches_since_fit": 1,
        "actors_scored": 0,
    }
    joined = _risk(fitted).join(_risk(kept), on="actor_id", suffix="_kept")
    assert joined.height == _risk(fitted).height
    assert (joined["risk_score"] - joined["risk_score_kept"]).abs().max() < 1e-9


def test_an_unreadable_or_older_file_is_not_used(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "stream").mkdir(parents=True)
    assert "no batch" in load_kept(root, 0).nothing_kept
    (root / "stream" / KEPT_FILE).write_bytes(b"\x80\x05 not a pickle")
    broken = load_kept(root, 0)
    assert broken.risk is None and "could not be read" in broken.nothing_kept

    save_kept(root, 3, ModelCache(fitted_events=1234, batches_since_fit=2))
    read = load_kept(root, 3)
    assert (read.fitted_events, read.batches_since_fit) == (1234, 2)
    older = load_kept(root, 4)  # the root was compacted since the file was written
    assert older.fitted_events == 0 and "compacted" in older.nothing_kept
