"""Ingesting sealed segments one by one and merging gives what ingesting them together
gives: the same event table, name trigrams and content vectors (up to row order, which
ingest itself does not fix)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from ringscope.ingest import ingest
from ringscope.ingest.content_terms import MAX_TOKENS
from ringscope.privacy import Keyring
from ringscope.stream.ingest_cache import cached_ingest, merge_ingested
from ringscope.worlds import WorldConfig, generate_world, write_world

KEYRING = Keyring(b"ingest-cache-secret-0123456789")


def _segments(tmp_path: Path, n: int = 3) -> Path:
    world = write_world(generate_world(WorldConfig(n_legit=200), seed=4), tmp_path / "world")
    events = next(p for p in world if p.name.startswith("events"))
    with gzip.open(events, "rb") as fh:
        lines = [line for line in fh.read().splitlines() if line.strip()]
    log = tmp_path / "log"
    log.mkdir()
    size = len(lines) // n + 1
    for i in range(n):
        part = lines[i * size : (i + 1) * size]
        (log / f"seg-{i + 1:08d}.jsonl").write_bytes(b"\n".join(part) + b"\n")
    return log


def test_merged_segments_equal_one_ingest(tmp_path: Path) -> None:
    log = _segments(tmp_path)
    whole = ingest([log], keyring=KEYRING)
    segments = sorted(log.iterdir())
    merged = merge_ingested([cached_ingest(s, tmp_path / "cache", KEYRING) for s in segments])
    assert merged.events.equals(whole.events)
    assert merged.duplicates == whole.duplicates > 0  # the world repeats some event ids
    assert merged.names.sort("name_key").equals(whole.names.sort("name_key"))
    assert [s.path for s in merged.inputs] == [s.path for s in whole.inputs]
    a, b = whole.content, merged.content
    row = {key: i for i, key in enumerate(b.keys.to_list())}
    order = np.array([row[key] for key in a.keys.to_list()])
    assert len(order) == b.n_rows
    assert (a.words != b.words[order]).nnz == 0 and (a.pairs != b.pairs[order]).nnz == 0
    assert (a.vocab != b.vocab).nnz == 0
    # from the cache the second time: the same result, without reading the segments
    # (blanked to the same size: a segment of another size is not the one cached)
    for segment in segments:
        segment.write_bytes(b"\n" * segment.stat().st_size)
    again = merge_ingested([cached_ingest(s, tmp_path / "cache", KEYRING) for s in segments])
    assert again.events.equals(whole.events)


def test_a_cache_for_another_segment_of_the_same_name_is_made_again(tmp_path: Path) -> None:
    log = _segments(tmp_path, n=2)
    first, second = sorted(log.iterdir())
    cached_ingest(first, tmp_path / "cache", KEYRING)
    first.write_bytes(first.read_bytes() + second.read_bytes())  # what a compaction makes
    again = cached_ingest(first, tmp_path / "cache", KEYRING)
    assert again.events.equals(ingest([first], keyring=KEYRING).events)


def test_a_cache_made_with_another_key_is_made_again(tmp_path: Path) -> None:
    log = _segments(tmp_path, n=1)
    segment = next(log.iterdir())
    first = cached_ingest(segment, tmp_path / "cache", KEYRING)
    other = Keyring(b"another-secret-0123456789abcd")
    second = cached_ingest(segment, tmp_path / "cache", other)
    assert first.events["actor_key"].to_list() != second.events["actor_key"].to_list()
    assert second.events.equals(ingest([segment], keyring=other).events)


def test_a_cache_hashed_with_other_term_settings_is_made_again(tmp_path: Path) -> None:
    """A cache from a build that hashed fewer tokens per text is not mixed into a run."""
    log = _segments(tmp_path, n=1)
    segment = next(log.iterdir())
    cached_ingest(segment, tmp_path / "cache", KEYRING)
    meta_path = next((tmp_path / "cache").glob("*/meta.json"))
    meta = json.loads(meta_path.read_text())
    meta["term_settings"]["max_tokens"] = 300
    meta_path.write_text(json.dumps(meta))
    again = cached_ingest(segment, tmp_path / "cache", KEYRING)
    assert json.loads(meta_path.read_text())["term_settings"]["max_tokens"] == MAX_TOKENS
    assert again.events.equals(ingest([segment], keyring=KEYRING).events)
