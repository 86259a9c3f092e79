"""One micro-batch: every sealed segment and dropped file -> a new published snapshot.

Runs in the worker process (:mod:`.child`). Sealed segments are ingested once each and
kept (:mod:`.ingest_cache`); the dropped files (few, and de-duplicated against the log
by ``event_id`` like any input) are read again each time. The merged ingest goes into
the same :func:`ringscope.pipeline.run_pipeline` as ``ringscope run`` (every later step
runs on the whole history, except that the learned risk model is fitted again only on
the schedule of :mod:`ringscope.ranking.kept_models` and scores the batches between
with its kept fold models), so the snapshot is close to the one ``ringscope run``
would publish on these files. With the Spark engine configured, the files are read by
Spark as usual.

Before reading, a batch finishes a compaction a crash interrupted
(:func:`.compact.finish_compaction`), and after a compaction (its re-base generation
changed) it drops the kept risk model and fits again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ringscope.config import RunConfig
from ringscope.graph.kept_coordination import KeptCoShares
from ringscope.graph.kept_membership import KeptMembership
from ringscope.ingest import ingest
from ringscope.pipeline import run_pipeline
from ringscope.privacy import load_keyring
from ringscope.ranking.kept_models import ModelCache
from ringscope.stream.compact import finish_compaction, rebase_generation
from ringscope.stream.ingest_cache import cached_ingest, merge_ingested
from ringscope.stream.log import stream_dirs

__all__ = ["run_stream_batch"]


@dataclass
class _Kept:
    """What a stream root's batches keep in this process, under one re-base generation."""

    generation: int
    models: ModelCache
    co_shares: KeptCoShares = field(default_factory=KeptCoShares)
    membership: KeptMembership = field(default_factory=KeptMembership)


#: each stream root's kept state (a new process starts empty: it fits the risk model,
#: pairs every item and starts Leiden from singletons; see
#: :mod:`ringscope.ranking.kept_models`, :mod:`ringscope.graph.kept_coordination`,
#: :mod:`ringscope.graph.kept_membership`)
_KEPT: dict[Path, _Kept] = {}


def _kept(root: Path) -> _Kept:
    """The kept state of ``root``; emptied when the root was compacted since."""
    generation = rebase_generation(root)
    kept = _KEPT.get(root)
    if kept is None:
        kept = _KEPT[root] = _Kept(generation, ModelCache())
    elif kept.generation != generation:
        why = "no kept model: the stream was compacted (ringscope compact re-bases it)"
        kept = _KEPT[root] = _Kept(generation, ModelCache(nothing_kept=why))
    return kept


def run_stream_batch(root: Path, *, config: Path | None = None, demo_key: bool = False) -> Path:
    """Publish a snapshot of the stream under ``root``; returns its directory."""
    root = Path(root).resolve()
    finish_compaction(root)
    keyring = load_keyring(allow_demo=demo_key)
    cfg = RunConfig.from_toml(config) if config else RunConfig()
    # rejected records never reach the log; a dropped file's bad records are kept, and
    # must not stop the stream
    cfg = cfg.with_overrides({"max_reject_rate": 1.0})
    _, sealed = stream_dirs(root)
    dropped = root / "stream" / "dropped"
    inputs = [p for p in (dropped, sealed) if p.is_dir() and any(p.iterdir())]
    kept = _kept(root)
    if cfg.engine != "local":
        return run_pipeline(inputs, root, config=cfg, keyring=keyring, models=kept.models)
    parts = []
    if dropped in inputs:  # sorted before the log, as ``ringscope run`` orders its inputs
        parts.append(ingest([dropped], keyring=keyring, max_reject_rate=1.0, keep_terms=True))
    cache = root / "stream" / "cache"
    parts += [cached_ingest(s, cache, keyring) for s in sorted(sealed.glob("seg-*.jsonl"))]
    return run_pipeline(
        inputs,
        root,
        config=cfg,
        keyring=keyring,
        ingested=merge_ingested(parts),
        models=kept.models,
        co_shares=kept.co_shares,
        membership=kept.membership,
    )
