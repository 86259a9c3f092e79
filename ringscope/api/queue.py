"""The ranked queue, precomputed per snapshot and verdict version, answered as bytes.

Building a queue answer means joining the snapshot's clusters with their latest
verdicts and serialising each summary; both change only when a new snapshot is served
or a verdict is added. So :class:`QueueCache` keeps, per (snapshot id, verdict version):

* every cluster's summary serialised once (pydantic's JSON, as a response model would
  write it), beside the columns the filters need (``score``, ``size``, ``kind``,
  ``verdict``, ...): a filter is one pass over these precomputed rows, and a new filter
  is one more column and condition in :func:`_matching`;
* the answers already given (bounded LRU), so a repeated query is a dictionary lookup.

The verdict version is the id of the newest verdict (verdicts are append-only), read
once per request: a verdict added by this server or by any other process on the same
store shows in the next answer. Latest verdicts are read for the snapshot's clusters
only (an index probe each), then kept current from the verdicts added since, so verdicts
on clusters of past snapshots cost nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
import polars as pl

from ringscope.api.convert import to_summary
from ringscope.api.cursors import encode_cursor
from ringscope.api.feedback_view import lane_filter
from ringscope.api.snapshot_view import SnapshotView
from ringscope.store import Store, VerdictRecord

__all__ = ["LatestVerdicts", "QueueCache", "QueueQuery"]

#: Answers kept per cache (each a few kB).
MAX_ANSWERS = 512
# Verdict ids re-read below the last one seen: on PostgreSQL a transaction can commit
# after one holding a higher id, so the newest few are read again on each change.
_LOOK_BACK = 100


@dataclass(frozen=True)
class QueueQuery:
    """The filters and page of one queue request (hashable: the answer cache's key)."""

    min_score: float | None = None
    min_size: int | None = None
    kind: str | None = None
    contains_actor: str | None = None
    verdict: str | None = None
    lane: str | None = None
    after_rank: int = 0
    limit: int = 50


class LatestVerdicts:
    """The latest verdict of each cluster of one snapshot, kept current incrementally."""

    def __init__(self, store: Store, cluster_ids: Iterable[str]) -> None:
        self.store = store
        self.cluster_ids = frozenset(cluster_ids)
        self.version = store.verdict_version()
        self.by_cluster: dict[str, VerdictRecord] = store.latest_verdicts(self.cluster_ids)

    def refresh(self) -> bool:
        """Take in verdicts added since the last look; True when there were any."""
        version = self.store.verdict_version()
        if version == self.version:
            return False
        for record in self.store.verdicts_since(max(0, self.version - _LOOK_BACK)):
            if record.cluster_id not in self.cluster_ids:
                continue
            known = self.by_cluster.get(record.cluster_id)
            if known is None or record.id > known.id:
                self.by_cluster[record.cluster_id] = record
        self.version = version
        return True


def _rows(view: SnapshotView, latest: dict[str, VerdictRecord]) -> pl.DataFrame:
    """The snapshot's clusters in rank order with their serialised summaries."""
    clusters = view.clusters
    items = [
        to_summary(row, latest.get(row["cluster_id"])).model_dump_json().encode()
        for row in clusters.iter_rows(named=True)
    ]
    verdicts = [
        v.verdict if (v := latest.get(c)) is not None else None for c in clusters["cluster_id"]
    ]
    lanes = [c for c in ("review_state", "teach_reason") if c in clusters.columns]
    return clusters.select("cluster_id", "rank", "score", "size", "kind", *lanes).with_columns(
        pl.Series("verdict", verdicts, dtype=pl.Utf8),
        pl.Series("item", items, dtype=pl.Binary),
    )


def _matching(view: SnapshotView, rows: pl.DataFrame, query: QueueQuery) -> pl.DataFrame:
    """The precomputed rows that pass the query's filters."""
    rows = lane_filter(rows, query.lane)
    conditions = []
    if query.min_score is not None:
        conditions.append(pl.col("score") >= query.min_score)
    if query.min_size is not None:
        conditions.append(pl.col("size") >= query.min_size)
    if query.kind is not None:
        conditions.append(pl.col("kind") == query.kind)
    if query.contains_actor is not None:
        owner = view.actors.filter(pl.col("actor_id") == query.contains_actor)["cluster_id"]
        conditions.append(pl.col("cluster_id").is_in(owner.drop_nulls().implode()))
    if query.verdict == "none":
        conditions.append(pl.col("verdict").is_null())
    elif query.verdict is not None:
        conditions.append(pl.col("verdict") == query.verdict)
    return rows.filter(*conditions) if conditions else rows


def _answer(view: SnapshotView, rows: pl.DataFrame, query: QueueQuery) -> bytes:
    """The JSON of one queue page (the fields of ``ClustersPublic``, in its order)."""
    matching = _matching(view, rows, query)
    page = matching.filter(pl.col("rank") > query.after_rank).head(query.limit + 1)
    shown = page.head(query.limit)
    next_cursor = encode_cursor("rank", shown["rank"][-1]) if page.height > query.limit else None
    return b"".join(
        (
            b'{"snapshot_id":',
            orjson.dumps(view.snapshot_id),
            b',"total":',
            str(matching.height).encode(),
            b',"items":[',
            b",".join(shown["item"].to_list()),
            b'],"next_cursor":',
            orjson.dumps(next_cursor),
            b"}",
        )
    )


class QueueCache:
    """Queue answers of the served snapshot at the current verdict version.

    Used from the event loop only (the queue route is ``async``), so it needs no lock.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._snapshot_id: str | None = None
        self._verdicts: LatestVerdicts | None = None
        self._rows: pl.DataFrame | None = None
        self._rows_version = -1
        self._answers: OrderedDict[tuple[str, int, QueueQuery], bytes] = OrderedDict()

    def answer(self, view: SnapshotView, query: QueueQuery) -> bytes:
        """The JSON answer to ``query`` on ``view`` with the latest verdicts."""
        verdicts = self._verdicts
        if verdicts is None or self._snapshot_id != view.snapshot_id:
            verdicts = LatestVerdicts(self.store, view.clusters["cluster_id"])
            self._verdicts, self._snapshot_id, self._rows = verdicts, view.snapshot_id, None
            self._answers.clear()
        else:
            verdicts.refresh()
        key = (view.snapshot_id, verdicts.version, query)
        cached = self._answers.get(key)
        if cached is not None:
            self._answers.move_to_end(key)
            return cached
        if self._rows is None or self._rows_version != verdicts.version:
            self._rows, self._rows_version = _rows(view, verdicts.by_cluster), verdicts.version
            self._answers.clear()
        body = _answer(view, self._rows, query)
        self._answers[key] = body
        if len(self._answers) > MAX_ANSWERS:
            self._answers.popitem(last=False)
        return body
