"""Ingest each sealed segment once: a micro-batch ingests only the segments new since the
last one and merges them with the kept results of the older ones.

A sealed segment never changes, and ingest is per record plus keyed hashes that do not
depend on other records, so ``ingest(all segments)`` equals the merge of each segment's
own ingest (:func:`merge_ingested`): event tables concatenated in input order, repeated
``event_id`` s dropped (first in input order wins), then sorted by time and actor keeping
input order among ties, exactly the order ingest gives; name trigrams de-duplicated by
name key; content vectors merged from every part's term hashes in input order.
``tests/stream/test_ingest_cache.py`` checks the equality on a world.

Kept per segment under ``ROOT/stream/cache/<segment>/``: the pseudonymised events, name
trigrams, rejects (parquet), the term hashes (npz) and ``meta.json`` (counts, fields,
the key fingerprint, the ringscope version, the term-hashing settings and the segment's
size: a cache made with another key, version or hashing settings, or for another segment
of the same name, is made again).
Nothing raw is kept there; the raw events are in the segment. ``ringscope compact``
(:mod:`.compact`) merges segments and their entries into one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl

import ringscope
from ringscope.ingest import IngestResult, InputStats, ingest
from ringscope.ingest.content_terms import (
    BUCKET_BITS,
    CHAR_NGRAMS,
    MAX_TOKENS,
    TermBatch,
    merge_terms,
)
from ringscope.ingest.rejects import empty_rejects
from ringscope.privacy import Keyring

__all__ = ["cached_ingest", "merge_ingested", "save_ingest"]

_ARRAYS = ("lengths", "tokens", "vocab", "gram_offsets", "grams")
#: What the kept term hashes depend on besides the key: a cache hashed with other
#: settings (e.g. fewer tokens per text) would mix two kinds of vectors in one run.
_TERM_SETTINGS = {"max_tokens": MAX_TOKENS, "bucket_bits": BUCKET_BITS, "char_ngrams": CHAR_NGRAMS}


def save_ingest(result: IngestResult, folder: Path, keyring: Keyring, segment_bytes: int) -> None:
    """Keep the ingest of one segment (of ``segment_bytes`` bytes) in ``folder``."""
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    result.events.write_parquet(tmp / "events.parquet")
    result.rejects.write_parquet(tmp / "rejects.parquet")
    if result.names is not None:
        result.names.write_parquet(tmp / "names.parquet")
    arrays = {}
    for i, batch in enumerate(result.term_batches or []):
        arrays[f"{i}_keys"] = np.asarray(batch.keys.to_list(), dtype=object)
        arrays |= {f"{i}_{name}": getattr(batch, name) for name in _ARRAYS}
    np.savez(tmp / "terms.npz", **arrays)
    meta = {
        "version": ringscope.__version__,
        "key_fingerprint": keyring.fingerprint,
        "term_settings": _TERM_SETTINGS,
        "segment_bytes": segment_bytes,
        "inputs": [vars(s) for s in result.inputs],
        "duplicates": result.duplicates,
        "fields_given": sorted(result.fields_given),
        "term_batches": len(result.term_batches or []),
    }
    (tmp / "meta.json").write_text(json.dumps(meta))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def _load(folder: Path, keyring: Keyring, segment_bytes: int) -> IngestResult | None:
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    if (
        meta["version"] != ringscope.__version__
        or meta["key_fingerprint"] != keyring.fingerprint
        or meta.get("term_settings") != json.loads(json.dumps(_TERM_SETTINGS))
        or meta.get("segment_bytes") != segment_bytes
    ):
        return None
    arrays = np.load(folder / "terms.npz", allow_pickle=True)
    batches = [
        TermBatch(
            keys=pl.Series("content_key", arrays[f"{i}_keys"].tolist(), dtype=pl.Utf8),
            **{name: arrays[f"{i}_{name}"] for name in _ARRAYS},
        )
        for i in range(meta["term_batches"])
    ]
    names = folder / "names.parquet"
    return IngestResult(
        events=pl.read_parquet(folder / "events.parquet"),
        rejects=pl.read_parquet(folder / "rejects.parquet"),
        inputs=[InputStats(**s) for s in meta["inputs"]],
        duplicates=meta["duplicates"],
        names=pl.read_parquet(names) if names.exists() else None,
        fields_given=set(meta["fields_given"]),
        term_batches=batches,
    )


def cached_ingest(segment: Path, cache_dir: Path, keyring: Keyring) -> IngestResult:
    """The ingest of one sealed segment, from the cache or made (and kept) now."""
    folder = cache_dir / segment.name
    size = segment.stat().st_size
    kept = _load(folder, keyring, size)
    if kept is not None:
        return kept
    result = ingest([segment], keyring=keyring, max_reject_rate=1.0, keep_terms=True)
    save_ingest(result, folder, keyring, size)
    return result


def merge_ingested(parts: list[IngestResult]) -> IngestResult:
    """One result as if every part's inputs had been ingested together, in part order."""
    events = pl.concat([p.events for p in parts])
    keep = events.select(
        pl.col("event_id").is_null() | pl.col("event_id").is_first_distinct()
    ).to_series()
    dropped = int((~keep).sum())
    if dropped:
        events = events.filter(keep)
    events = events.sort(["ts", "actor_id"], maintain_order=True)
    names = [p.names for p in parts if p.names is not None and p.names.height]
    terms = [b for p in parts for b in (p.term_batches or [])]
    rejects = [p.rejects for p in parts if p.rejects.height]
    return IngestResult(
        events=events,
        rejects=pl.concat(rejects) if rejects else empty_rejects(),
        inputs=[s for p in parts for s in p.inputs],
        duplicates=sum(p.duplicates for p in parts) + dropped,
        names=pl.concat(names).unique("name_key", keep="first", maintain_order=True)
        if names
        else None,
        content=merge_terms(terms),
        fields_given=set().union(*(p.fields_given for p in parts)),
    )
