"""A stream's kept co-uses give exactly the batch computation's evidence.

The events of a generated world, and of the real German-election posts, arrive in
batches; after every batch the evidence built with the kept co-uses of the batches
before must equal the evidence built from nothing on the same events: the same edges,
ledger rows, co-shares and counts, to the last bit. Late events (times older than
events already seen) and a changed setting must not break it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ringscope.config import CoordinationConfig, RunConfig
from ringscope.graph.coordination import build_evidence
from ringscope.graph.hetero import build_hetero_graph
from ringscope.graph.kept_coordination import KeptCoShares
from ringscope.ingest import ingest
from ringscope.ingest.sharing import write_sharing_events
from ringscope.privacy import Keyring
from ringscope.worlds import WorldConfig, generate_world, write_world
from tests.conftest import SHARED_DATA

KEYRING = Keyring(b"kept-coordination-test-secret-01")
GERMAN = SHARED_DATA / "german_elections_posts.csv.gz"


def _events(paths: list[Path]) -> pl.DataFrame:
    """The canonical event table in the order a batch sorts it (by time, then actor)."""
    events = ingest(paths, keyring=KEYRING, max_reject_rate=1.0).events
    return events.sort("ts", "actor_id", maintain_order=True)


@pytest.fixture(scope="module")
def world_events(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    base = tmp_path_factory.mktemp("kept-coordination")
    paths = write_world(generate_world(WorldConfig(n_legit=300), seed=7), base / "world")
    return _events([p for p in paths if p.name.startswith("events")])


def _assert_same(kept: KeptCoShares, events: pl.DataFrame, cfg: CoordinationConfig) -> None:
    hg = build_hetero_graph(events.sort("ts", "actor_id", maintain_order=True))
    fresh = build_evidence(hg, cfg)
    streamed = build_evidence(hg, cfg, kept=kept)
    assert_frame_equal(streamed.edges, fresh.edges)
    assert_frame_equal(streamed.evidence, fresh.evidence)
    assert_frame_equal(streamed.co_shares.sort(pl.all()), fresh.co_shares.sort(pl.all()))
    assert streamed.stats == fresh.stats


def _batches(events: pl.DataFrame, n: int) -> list[pl.DataFrame]:
    """The first 1/n, 2/n, ... of the events: what each batch of a stream holds."""
    return [events.head(events.height * k // n) for k in range(1, n + 1)]


def test_kept_co_uses_equal_the_batch_evidence_batch_after_batch(world_events) -> None:
    kept = KeptCoShares()
    cfg = RunConfig().coordination
    for k, history in enumerate(_batches(world_events, 6)):
        _assert_same(kept, history, cfg)
        report = kept.report
        assert report["why_all"] == ("nothing kept" if k == 0 else None)
        if k:  # later batches pair only what changed, with its window before it
            assert report["occurrences_paired"] < report["occurrences"]


def test_late_events_and_replies_change_old_items_and_are_paired_again(world_events) -> None:
    """Events held back from the first half arrive with the last batch, older than what
    was seen: the items they touch are not final by the clock, only by their content."""
    rng = np.random.default_rng(3)
    late = rng.random(world_events.height) < 0.05
    late &= np.arange(world_events.height) < world_events.height // 2
    on_time = world_events.filter(~pl.Series(late))
    kept = KeptCoShares()
    cfg = RunConfig().coordination
    for history in _batches(on_time, 4):
        _assert_same(kept, history, cfg)
    _assert_same(kept, world_events, cfg)
    assert kept.report["occurrences_paired"] > 0


def test_changed_settings_pair_everything_again(world_events) -> None:
    kept = KeptCoShares()
    half, whole = _batches(world_events, 2)
    _assert_same(kept, half, RunConfig().coordination)
    wider = RunConfig().with_overrides({"coordination.max_partners": 3}).coordination
    _assert_same(kept, whole, wider)
    assert kept.report["why_all"] == "settings changed"
    assert kept.report["occurrences_paired"] == kept.report["occurrences"]


@pytest.mark.skipif(not GERMAN.exists(), reason="the German-election posts are not here")
def test_real_shared_posts_in_batches_equal_the_batch_evidence(tmp_path: Path) -> None:
    posts = tmp_path / "posts.parquet"
    write_sharing_events(pl.read_csv(GERMAN), posts)
    events = _events([posts])
    kept = KeptCoShares()
    cfg = RunConfig().coordination
    for history in _batches(events, 4):
        _assert_same(kept, history, cfg)
    assert kept.report["layers"]["url"]["occurrences"] > 0
