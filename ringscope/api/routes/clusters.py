"""The ranked queue, one cluster's full explanation, and its graph."""

from __future__ import annotations

from typing import Annotated, Literal

import polars as pl
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status

from ringscope.api.convert import ms_to_datetime, to_summary, to_verdict
from ringscope.api.cursors import CURSOR_PATTERNS, decode_cursor, encode_cursor
from ringscope.api.deps import InvestigatorKey, SnapshotDep, StoreDep
from ringscope.api.feedback_view import Lane, learned_part
from ringscope.api.models import (
    ClusterDetail,
    ClusterGraph,
    ClustersPublic,
    EvidencePublic,
    GraphEdge,
    GraphNode,
    MemberPublic,
    MembersPage,
    SignalPublic,
    TimelineBucket,
)
from ringscope.api.queue import QueueQuery
from ringscope.api.responses import errors
from ringscope.api.routes.actors import ACTOR_ID_MAX
from ringscope.api.snapshot_view import SnapshotView
from ringscope.ranking.signals import SIGNAL_FAMILIES
from ringscope.vocabulary import ClusterKind, VerdictValue

__all__ = ["ClusterId", "find_cluster", "router"]

router = APIRouter(prefix="/v1/clusters", tags=["clusters"])

ClusterId = Annotated[str, Path(min_length=1, max_length=64, description="stable cluster id")]
VerdictFilter = Literal[VerdictValue, "none"]
_NOT_FOUND = errors(404, e404="no such cluster in the current snapshot")


def find_cluster(view: SnapshotView, cluster_id: str) -> dict:
    """The cluster's row, or a 404 that names the snapshot searched."""
    row = view.cluster(cluster_id)
    if row is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no cluster {cluster_id!r} in snapshot {view.snapshot_id}",
        )
    return row


@router.get("", response_model=ClustersPublic)
async def list_clusters(
    request: Request,
    view: SnapshotDep,
    _key: InvestigatorKey,
    min_score: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    min_size: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
    kind: ClusterKind | None = None,
    contains_actor: Annotated[str | None, Query(min_length=1, max_length=ACTOR_ID_MAX)] = None,
    verdict: Annotated[
        VerdictFilter | None, Query(description="latest verdict; 'none' = not yet reviewed")
    ] = None,
    lane: Annotated[
        Lane | None,
        Query(
            description="'open': the queue without clusters dismissed before; 'teach': "
            "the clusters whose verdict would teach the ranker most; 'dismissed_before'"
        ),
    ] = None,
    cursor: Annotated[
        str | None, Query(pattern=CURSOR_PATTERNS["rank"], description="next_cursor, unchanged")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """The ranked queue (rank 1 first), filtered, one page at a time.

    Answered from rows precomputed per snapshot and verdict version
    (:mod:`ringscope.api.queue`); a verdict added anywhere shows in the next answer.
    """
    query = QueueQuery(
        min_score=min_score,
        min_size=min_size,
        kind=kind,
        contains_actor=contains_actor,
        verdict=verdict,
        lane=lane,
        after_rank=decode_cursor(cursor, "rank"),
        limit=limit,
    )
    body = request.app.state.queue_cache.answer(view, query)
    return Response(body, media_type="application/json")


def _signals(view: SnapshotView, row: dict) -> list[SignalPublic]:
    return [
        SignalPublic(
            name=name,
            family=family,
            value=row.get(name) or 0.0,
            weight=view.signal_weights.get(name, 0.0),
            contribution=row.get(f"contrib_{name}") or 0.0,
        )
        for family, names in SIGNAL_FAMILIES.items()
        for name in names
        if name in row
    ]


def _evidence(view: SnapshotView, cluster_id: str) -> list[EvidencePublic]:
    table = view.cluster_evidence
    if table.is_empty():
        return []
    rows = (
        table.filter(pl.col("cluster_id") == cluster_id)
        .sort(["actors", "pairs", "layer", "item"], descending=[True, True, False, False])
        .to_dicts()
    )
    return [
        EvidencePublic(
            layer=r["layer"],
            token=r["item"],
            n_actors=r["actors"],
            first_ts=ms_to_datetime(r["first_ts"]),
            last_ts=ms_to_datetime(r["last_ts"]),
        )
        for r in rows
    ]


def _timeline(view: SnapshotView, cluster_id: str) -> list[TimelineBucket]:
    rows = view.timeline.filter(pl.col("cluster_id") == cluster_id).sort("bucket_start")
    return [
        TimelineBucket(bucket_start=ms_to_datetime(r["bucket_start"]), events=r["events"])
        for r in rows.iter_rows(named=True)
    ]


@router.get("/{cluster_id}", response_model=ClusterDetail, responses=_NOT_FOUND)
def get_cluster(
    cluster_id: ClusterId,
    view: SnapshotDep,
    store: StoreDep,
    _key: InvestigatorKey,
    members_cursor: Annotated[
        str | None,
        Query(pattern=CURSOR_PATTERNS["members"], description="members.next_cursor, unchanged"),
    ] = None,
    members_limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ClusterDetail:
    """One cluster: why it ranks where it does, who is in it, what binds them, verdicts."""
    row = find_cluster(view, cluster_id)
    offset = decode_cursor(members_cursor, "members")
    members = view.members.filter(pl.col("cluster_id") == cluster_id)
    page = members.slice(offset, members_limit)
    has_more = offset + members_limit < members.height
    history = store.verdicts(cluster_id)
    summary = to_summary(row, history[0] if history else None)
    return ClusterDetail(
        **summary.model_dump(),
        signals=_signals(view, row),
        members=MembersPage(
            items=[MemberPublic(**m) for m in page.drop("cluster_id").to_dicts()],
            next_cursor=encode_cursor("members", offset + members_limit) if has_more else None,
        ),
        evidence=_evidence(view, cluster_id),
        timeline=_timeline(view, cluster_id),
        verdicts=[to_verdict(v) for v in history],
        learned=learned_part(view, row),
    )


@router.get("/{cluster_id}/graph", response_model=ClusterGraph, responses=_NOT_FOUND)
def get_cluster_graph(
    cluster_id: ClusterId,
    view: SnapshotDep,
    _key: InvestigatorKey,
    max_nodes: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> ClusterGraph:
    """The cluster's members (riskiest first, up to ``max_nodes``) and edges among them."""
    find_cluster(view, cluster_id)
    members = view.members.filter(pl.col("cluster_id") == cluster_id)
    shown = members.head(max_nodes)
    ids = shown["actor_id"].implode()
    edges = view.edges.filter(pl.col("src").is_in(ids) & pl.col("dst").is_in(ids)).sort(
        "src", "dst"
    )
    return ClusterGraph(
        nodes=[
            GraphNode(
                id=m["actor_id"],
                label=m["actor_id"],
                risk_score=m["risk_score"],
                known_bad=m["known_bad"],
            )
            for m in shown.iter_rows(named=True)
        ],
        edges=[
            GraphEdge(source=e["src"], target=e["dst"], weight=e["weight"], layers=e["layers"])
            for e in edges.iter_rows(named=True)
        ],
        truncated=members.height > shown.height,
    )
