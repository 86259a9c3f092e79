"""The ranked queue, one cluster's full explanation, and its graph."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

import polars as pl
from fastapi import APIRouter, HTTPException, Path, Query, status

from ringscope.api.convert import ms_to_datetime, to_summary, to_verdict
from ringscope.api.cursors import decode_cursor, encode_cursor
from ringscope.api.deps import InvestigatorKey, SnapshotDep, StoreDep
from ringscope.api.feedback_view import Lane, lane_filter, learned_part
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
from ringscope.api.snapshot_view import SnapshotView
from ringscope.ranking.signals import SIGNAL_FAMILIES

__all__ = ["ClusterId", "find_cluster", "router"]

router = APIRouter(prefix="/v1/clusters", tags=["clusters"])

ClusterId = Annotated[str, Path(min_length=1, max_length=64, description="stable cluster id")]
Kind = Literal["content", "infrastructure", "victims", "identity", "signup", "unknown"]
VerdictFilter = Literal["confirmed", "dismissed", "needs_more_info", "none"]
_NOT_FOUND = {404: {"description": "no such cluster in the current snapshot"}}


def find_cluster(view: SnapshotView, cluster_id: str) -> dict:
    """The cluster's row, or a 404 that names the snapshot searched."""
    row = view.cluster(cluster_id)
    if row is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no cluster {cluster_id!r} in snapshot {view.snapshot_id}",
        )
    return row


def _ids(ids: Iterable[str]) -> pl.Series:
    return pl.Series(list(ids), dtype=pl.Utf8).implode()


@router.get("", response_model=ClustersPublic)
def list_clusters(
    view: SnapshotDep,
    store: StoreDep,
    _key: InvestigatorKey,
    min_score: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    min_size: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
    kind: Kind | None = None,
    contains_actor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
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
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ClustersPublic:
    """The ranked queue (rank 1 first), filtered, one page at a time."""
    after_rank = decode_cursor(cursor, "rank")
    clusters = lane_filter(view.clusters, lane)
    if min_score is not None:
        clusters = clusters.filter(pl.col("score") >= min_score)
    if min_size is not None:
        clusters = clusters.filter(pl.col("size") >= min_size)
    if kind is not None:
        clusters = clusters.filter(pl.col("kind") == kind)
    if contains_actor is not None:
        owner = view.actors.filter(pl.col("actor_id") == contains_actor)["cluster_id"]
        clusters = clusters.filter(pl.col("cluster_id").is_in(owner.drop_nulls().implode()))
    latest = store.latest_verdicts()
    if verdict == "none":
        clusters = clusters.filter(~pl.col("cluster_id").is_in(_ids(latest)))
    elif verdict is not None:
        chosen = [c for c, v in latest.items() if v.verdict == verdict]
        clusters = clusters.filter(pl.col("cluster_id").is_in(_ids(chosen)))
    total = clusters.height
    page = clusters.filter(pl.col("rank") > after_rank).head(limit + 1)
    rows = page.head(limit).to_dicts()
    next_cursor = encode_cursor("rank", rows[-1]["rank"]) if page.height > limit else None
    return ClustersPublic(
        snapshot_id=view.snapshot_id,
        total=total,
        items=[to_summary(r, latest.get(r["cluster_id"])) for r in rows],
        next_cursor=next_cursor,
    )


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
    members_cursor: Annotated[str | None, Query(max_length=200)] = None,
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
