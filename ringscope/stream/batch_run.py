"""One micro-batch: every sealed segment and dropped file -> a new published snapshot.

Runs in the worker process (:mod:`.child`). Sealed segments are ingested once each and
kept (:mod:`.ingest_cache`); the worker keeps the last batch's merge of them and appends
the segments sealed since (:mod:`.kept_ingest`); the dropped files (few, and
de-duplicated against the log by ``event_id`` like any input) are read again when they
change. The merged ingest goes into
the same :func:`ringscope.pipeline.run_pipeline` as ``ringscope run`` (every later step
runs on the whole history, except that the learned risk model is fitted again only on
the schedule of :mod:`ringscope.ranking.kept_models` and scores the batches between
with its kept fold models), so the snapshot is close to the one ``ringscope run``
would publish on these files. With the Spark engine configured, the files are read by
Spark as usual.

Before reading, a batch finishes a compaction a crash interrupted
(:func:`.compact.finish_compaction`), and after a compaction (its re-base generation
changed) it drops the kept risk model and fits again. The kept models are written to the
root after each batch (:mod:`.kept_file`), so a new worker goes on with them.
"""

from __future__ import annotations

from pathlib import Path

from ringscope.config import RunConfig
from ringscope.ingest import IngestResult, ingest
from ringscope.pipeline import run_pipeline
from ringscope.privacy import load_keyring
from ringscope.ranking.kept_models import ModelCache
from ringscope.stream.compact import finish_compaction, rebase_generation
from ringscope.stream.ingest_cache import cached_ingest
from ringscope.stream.kept_file import COMPACTED, load_kept, save_kept
from ringscope.stream.kept_ingest import KeptIngest, files_signature
from ringscope.stream.log import stream_dirs

__all__ = ["run_stream_batch"]


#: the ranking models each stream root's batches keep in this process, with the re-base
#: generation they were kept under (a new process starts from the root's kept file; see
#: :mod:`ringscope.ranking.kept_models` and :mod:`.kept_file`)
_KEPT: dict[Path, tuple[int, ModelCache]] = {}


#: the merged ingest of each stream root's sealed segments, appended to by each batch
#: (:mod:`.kept_ingest`; a new process merges the cached segments once)
_INGESTS: dict[Path, KeptIngest] = {}


def _models(root: Path, generation: int) -> ModelCache:
    """The kept models of ``root``; emptied when the root was compacted since."""
    kept = _KEPT.get(root)
    if kept is None:
        kept = _KEPT[root] = (generation, load_kept(root, generation))
    elif kept[0] != generation:
        kept = _KEPT[root] = (generation, ModelCache(nothing_kept=COMPACTED))
    return kept[1]


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
    generation = rebase_generation(root)
    models = _models(root, generation)

    def merged() -> IngestResult:
        drops = sorted(p for p in dropped.rglob("*") if p.is_file()) if dropped in inputs else []
        cache = root / "stream" / "cache"
        return _INGESTS.setdefault(root, KeptIngest()).merged(
            (keyring.fingerprint, generation, files_signature(drops)),
            sorted(sealed.glob("seg-*.jsonl")),
            lambda segment: cached_ingest(segment, cache, keyring),
            # sorted before the log, as ``ringscope run`` orders its inputs
            lambda: (
                ingest([dropped], keyring=keyring, max_reject_rate=1.0, keep_terms=True)
                if drops
                else None
            ),
        )

    # made by the ingest step, so the manifest times it; the Spark engine reads the files
    ingested = merged if cfg.engine == "local" else None
    snapshot = run_pipeline(
        inputs, root, config=cfg, keyring=keyring, ingested=ingested, models=models
    )
    save_kept(root, generation, models)
    return snapshot
