"""The stream's kept ranking models on disk, so a new batch worker need not fit again.

The batcher replaces its worker after ``max_runs`` batches and after any batch that
leaves it above its memory bound, and a restarted server starts a new one. Kept only in
the worker's memory, the risk model (:mod:`ringscope.ranking.kept_models`) was fitted
again by every new worker, and a history large enough to leave the worker above the
bound after each batch refitted every batch. The last batch's
:class:`~ringscope.ranking.kept_models.ModelCache` (fold models, the state it was
fitted on, its age) is written to ``ROOT/stream/kept-models.pkl`` after each batch
(atomically: a crash leaves the old file or the new one) with the re-base generation
it belongs to; a new worker reads it and goes on with the same refit schedule.

The file is a pickle, written and read only by ringscope inside the operator's stream
root, as trusted as the root's other state. A file that cannot be read, of another
format (:data:`_FORMAT`, raised when the kept models change shape), or from an earlier
re-base (``ringscope compact``), is not used: the batch fits, as with no file.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

from ringscope.ranking.kept_models import ModelCache
from ringscope.stream.compact import write_atomic

__all__ = ["COMPACTED", "KEPT_FILE", "load_kept", "save_kept"]

log = logging.getLogger(__name__)

KEPT_FILE = "kept-models.pkl"
#: the layout of the kept models; a file of another is not read (fit again)
_FORMAT = 2
#: why a batch after a re-base has no kept model
COMPACTED = "no kept model: the stream was compacted (ringscope compact re-bases it)"


def _path(root: Path) -> Path:
    return Path(root) / "stream" / KEPT_FILE


def load_kept(root: Path, generation: int) -> ModelCache:
    """The models the stream's last batch kept, or an empty cache that says why none."""
    path = _path(root)
    if not path.exists():
        return ModelCache(nothing_kept="no kept model: no batch of this stream kept one yet")
    try:
        kept_format, kept_generation, cache = pickle.loads(path.read_bytes())
        if kept_format != _FORMAT:
            raise TypeError(f"format {kept_format}, not {_FORMAT}")
        if not isinstance(cache, ModelCache):
            raise TypeError(f"holds a {type(cache).__name__}")
    except Exception as exc:  # any unreadable file means: fit again
        log.warning("kept models in %s not used (%s); the batch fits the risk model", path, exc)
        return ModelCache(nothing_kept=f"no kept model: {KEPT_FILE} could not be read")
    if kept_generation != generation:
        return ModelCache(nothing_kept=COMPACTED)
    return cache


def save_kept(root: Path, generation: int, cache: ModelCache) -> None:
    """Write the cache for the next worker (replacing the previous file atomically)."""
    write_atomic(
        _path(root), pickle.dumps((_FORMAT, generation, cache), protocol=pickle.HIGHEST_PROTOCOL)
    )
