"""The merged ingest a batch worker keeps between micro-batches: appended, not merged again.

Every micro-batch needs the ingest of all sealed segments, and merging the kept
per-segment results (:func:`.ingest_cache.merge_ingested`) reads every segment's cache
entry and de-duplicates and sorts all history again: 7.4 s of CPU in a 20k-event batch
at 2M events (``bench/RESULTS.md``). A sealed segment never changes and new ones only
come after the old ones, so the worker keeps the last merge and appends the segments
sealed since:

* events: a new event whose ``event_id`` the kept table or an earlier new event has is
  dropped (first in input order wins, as in the merge; the kept ids are looked up by
  their hashes, :class:`~ringscope.ingest.known.KnownValues`, not by a hash table of
  every kept id made again: 0.4 s of CPU at 2M events); the rest is put after the kept
  rows from the earliest new time on, and those are sorted stably by time and actor, so
  ties keep input order, the kept rows first, as in one sort of everything (the kept
  rows before that time come first either way; a stream's new events are mostly its
  newest, so they are most of the table);
* name trigrams: the new rows of names not seen yet;
* rejects, input counts, duplicates and fields: added;
* content vectors: the new segments' term hashes merged onto the kept vectors
  (:func:`~ringscope.ingest.content_terms.merge_terms` with ``onto``: new contents'
  rows added, the kept rows renumbered where new words join the vocabulary);
* the offender index's actor key table (``IngestResult.actor_keys``): the kept one with
  the appended events' keys added (:func:`~ringscope.signup.index.added_actor_keys`).

The result equals the merge of every segment (``tests/stream/test_kept_ingest.py``).
Whatever breaks the append condition merges from the cache again, as before: another
key, a re-base or compaction (segments merged and renamed), a kept segment missing or
resized, and a change in the dropped files (they come before the log in input order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from ringscope.ingest import IngestResult
from ringscope.ingest.content_terms import merge_terms
from ringscope.ingest.known import KnownValues
from ringscope.signup.index import actor_key_table, added_actor_keys
from ringscope.stream.ingest_cache import merge_ingested

__all__ = ["KeptIngest", "files_signature"]

#: what a merge covered: each input file's name and size, in input order
Signature = tuple[tuple[str, int], ...]


def files_signature(paths: list[Path]) -> Signature:
    """Names and sizes of ``paths``, in order (a sealed segment's size fixes its lines)."""
    return tuple((str(p), p.stat().st_size) for p in paths)


@dataclass
class _Merged:
    base: tuple[str, int, Signature]  # key fingerprint, re-base generation, dropped files
    segments: Signature
    result: IngestResult
    keys: pl.DataFrame  # actor_key_table of result.events
    ids: KnownValues  # of result.events["event_id"]


class KeptIngest:
    """The merged ingest of one stream root, kept by its batch worker."""

    def __init__(self) -> None:
        self._kept: _Merged | None = None
        #: how the last :meth:`merged` was made: "appended N segments" or "merged all"
        self.last = ""

    def merged(
        self,
        base: tuple[str, int, Signature],
        segments: list[Path],
        part: Callable[[Path], IngestResult],
        dropped: Callable[[], IngestResult | None],
    ) -> IngestResult:
        """The ingest of the dropped files then ``segments``, as one merge of them gives.

        ``base``: what the kept merge must share to be appended to (the key fingerprint,
        the re-base generation, the dropped files); ``part``: one segment's ingest (the
        cache); ``dropped``: the ingest of the dropped files (None: none).
        """
        signature = files_signature(segments)
        kept = self._kept
        if kept is None or kept.base != base or signature[: len(kept.segments)] != kept.segments:
            parts = [p for p in [dropped()] if p is not None] + [part(s) for s in segments]
            result = merge_ingested(parts)
            keys = actor_key_table(result.events)
            ids = KnownValues.of(result.events["event_id"])
            self.last = f"merged all {len(segments)} segments"
        else:
            new = [part(s) for s in segments[len(kept.segments) :]]
            result, keys, ids = (kept.result, kept.keys, kept.ids)
            if new:
                result, added = _appended(kept.result, kept.ids, new)
                keys = added_actor_keys(kept.keys, added)
                ids = ids.plus(added["event_id"])
            self.last = f"appended {len(new)} segments"
        self._kept = _Merged(base, signature, result, keys, ids)
        return replace(result, actor_keys=keys)


def _appended(
    kept: IngestResult, kept_ids: KnownValues, parts: list[IngestResult]
) -> tuple[IngestResult, pl.DataFrame]:
    """``kept`` followed by ``parts`` (see the module doc: equal to merging them all),
    and the events it added (those of ``parts`` not dropped as duplicates);
    ``kept_ids``: ``kept``'s event ids."""
    new = pl.concat([p.events for p in parts])
    ids = new["event_id"]
    keep = ids.is_null() | (ids.is_first_distinct() & ~kept_ids.held(ids, kept.events["event_id"]))
    dropped = int((~keep).sum())
    new = new.filter(keep)
    # kept rows earlier than every new one stay first, in their order; only the rest moves
    ts = kept.events["ts"]
    cut = ts.search_sorted(new["ts"].min(), side="left") if new.height else ts.len()
    tail = pl.concat([kept.events[cut:], new]).sort(["ts", "actor_id"], maintain_order=True)
    events = pl.concat([kept.events[:cut], tail])
    names = [n for n in [kept.names, *(p.names for p in parts)] if n is not None and n.height]
    rejects = [r for r in [kept.rejects, *(p.rejects for p in parts)] if r.height]
    terms = [b for p in parts for b in (p.term_batches or [])]
    result = IngestResult(
        events=events,
        rejects=pl.concat(rejects) if rejects else kept.rejects,
        inputs=kept.inputs + [s for p in parts for s in p.inputs],
        duplicates=kept.duplicates + sum(p.duplicates for p in parts) + dropped,
        names=pl.concat(names).unique("name_key", keep="first", maintain_order=True)
        if names
        else None,
        content=merge_terms(terms, onto=kept.content),
        fields_given=kept.fields_given.union(*(p.fields_given for p in parts)),
    )
    return result, new
