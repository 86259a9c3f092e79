"""The merged ingest kept between micro-batches and appended to equals the merge of every
segment, batch after batch: the same event table, name trigrams, rejects, counts,
content vectors (appended to, not merged again) and offender-index key table; and a
change that breaks the append (a compaction's merged segment, another key) merges
everything again."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ringscope.ingest import IngestResult
from ringscope.privacy import Keyring
from ringscope.signup.index import actor_key_table
from ringscope.stream.ingest_cache import cached_ingest, merge_ingested
from ringscope.stream.kept_ingest import KeptIngest
from ringscope.worlds import WorldConfig, generate_world, write_world

KEYRING = Keyring(b"kept-ingest-secret-0123456789")


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """A world's records in file order, with later copies of some earlier event ids (a
    client's retries: the first copy must win however the segments fall), and at the end
    events from the start of the world under new ids (late deliveries: they sort into
    the kept table, not after it)."""
    tmp = tmp_path_factory.mktemp("world")
    world = write_world(generate_world(WorldConfig(n_legit=200), seed=4), tmp)
    events = next(p for p in world if p.name.startswith("events"))
    with gzip.open(events, "rb") as fh:
        records = [line for line in fh.read().splitlines() if line.strip()]
    late = [r.replace(b'"event_id":"', b'"event_id":"late-') for r in records[:300]]
    return records + records[::97] + [b"not json"] + late


def _equal(a: IngestResult, b: IngestResult) -> None:
    """``a`` (kept) is ``b`` (merged), and its kept key table the one of ``b``'s events."""
    assert a.events.equals(b.events)
    assert a.actor_keys.equals(actor_key_table(b.events))
    assert a.rejects.equals(b.rejects)
    assert a.duplicates == b.duplicates
    assert [s.path for s in a.inputs] == [s.path for s in b.inputs]
    assert a.fields_given == b.fields_given
    assert a.names.equals(b.names)
    assert a.content.keys.equals(b.content.keys)
    assert np.array_equal(a.content.token_hashes, b.content.token_hashes)
    for m in ("words", "vocab", "pairs"):
        x, y = getattr(a.content, m), getattr(b.content, m)
        assert x.shape == y.shape and x.dtype == y.dtype
        for array in ("indptr", "indices", "data"):  # the same stored entries, in order
            assert np.array_equal(getattr(x, array), getattr(y, array))


def test_appended_batches_equal_the_merge_of_every_segment(
    tmp_path: Path, lines: list[bytes]
) -> None:
    log, cache = tmp_path / "log", tmp_path / "cache"
    log.mkdir()
    kept = KeptIngest()
    sizes = [len(lines) // 3, 700, 1, 1500, len(lines) - 300, 300]  # the last: late
    start = 0
    for number, size in enumerate(sizes, 1):
        part = lines[start : start + size]
        start += size
        (log / f"seg-{number:08d}.jsonl").write_bytes(b"\n".join(part) + b"\n")
        segments = sorted(log.iterdir())
        got = kept.merged(
            ("key", 0, ()), segments, lambda s: cached_ingest(s, cache, KEYRING), lambda: None
        )
        assert kept.last == ("merged all 1 segments" if number == 1 else "appended 1 segments")
        _equal(got, merge_ingested([cached_ingest(s, cache, KEYRING) for s in segments]))
    assert got.duplicates > 0 and got.rejects.height == 1
    late = got.events.with_row_index().filter(pl.col("event_id").str.starts_with("late-"))
    assert late.height > 0 and late["index"].min() < got.events.height // 10
    assert np.unique(got.events["event_id"].drop_nulls().to_numpy()).size == (
        got.events["event_id"].drop_nulls().len()
    )


def test_a_merged_segment_or_another_base_merges_again(tmp_path: Path, lines: list[bytes]) -> None:
    log, cache = tmp_path / "log", tmp_path / "cache"
    log.mkdir()
    half = len(lines) // 2
    first, second = log / "seg-00000001.jsonl", log / "seg-00000002.jsonl"
    first.write_bytes(b"\n".join(lines[:half]) + b"\n")
    second.write_bytes(b"\n".join(lines[half:]) + b"\n")
    kept = KeptIngest()

    def run(base: tuple) -> IngestResult:
        return kept.merged(
            base,
            sorted(log.iterdir()),
            lambda s: cached_ingest(s, cache, KEYRING),
            lambda: None,
        )

    run(("key", 0, ()))
    run(("key", 1, ()))
    assert kept.last == "merged all 2 segments"
    # what a compaction makes: one segment under the newest name, the same lines
    second.write_bytes(first.read_bytes() + second.read_bytes())
    first.unlink()
    got = run(("key", 1, ()))
    assert kept.last == "merged all 1 segments"
    _equal(got, merge_ingested([cached_ingest(second, cache, KEYRING)]))
