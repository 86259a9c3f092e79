"""One actor: risk, cluster and the coordination evidence linking it to others."""

from __future__ import annotations

from typing import Annotated

import polars as pl
from fastapi import APIRouter, HTTPException, Path, Query, status

from ringscope.api.convert import ms_to_datetime
from ringscope.api.deps import InvestigatorKey, SnapshotDep
from ringscope.api.models import ActorPublic, Neighbour, NeighbourLayer
from ringscope.api.responses import errors

__all__ = ["ACTOR_ID_MAX", "ActorId", "router"]

router = APIRouter(prefix="/v1/actors", tags=["actors"])

#: Longest actor id a request may name (ids come from event logs: any text).
ACTOR_ID_MAX = 4096
#: Any actor id, percent-encoded (``/`` as ``%2F``): the path converter takes the rest of
#: the path, slashes included, so no id is unreachable.
ActorId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=ACTOR_ID_MAX,
        description="the actor id, percent-encoded (any character, '/' included)",
    ),
]


@router.get(
    "/{actor_id:path}",
    response_model=ActorPublic,
    responses=errors(404, e404="no such actor in the current snapshot"),
)
def get_actor(
    actor_id: ActorId,
    view: SnapshotDep,
    _key: InvestigatorKey,
    max_neighbours: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ActorPublic:
    """The actor and its strongest neighbours (by edge weight), each edge's layers."""
    found = view.actors.filter(pl.col("actor_id") == actor_id)
    if found.is_empty():
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no actor {actor_id!r} in snapshot {view.snapshot_id}"
        )
    actor = found.row(0, named=True)
    touching = pl.col("src").eq(actor_id) | pl.col("dst").eq(actor_id)
    other = pl.when(pl.col("src") == actor_id).then(pl.col("dst")).otherwise(pl.col("src"))
    edges = (
        view.edges.filter(touching)
        .with_columns(other.alias("other"))
        .sort(["weight", "other"], descending=[True, False])
        .head(max_neighbours)
    )
    layers = (
        view.evidence.filter(touching)
        .with_columns(other.alias("other"))
        .filter(pl.col("other").is_in(edges["other"].implode()))
        .sort("other", "layer")
    )
    by_other: dict[str, list[NeighbourLayer]] = {}
    for r in layers.iter_rows(named=True):
        by_other.setdefault(r["other"], []).append(
            NeighbourLayer(
                layer=r["layer"],
                similarity=r["similarity"],
                n_items=r["n_items"],
                first_ts=ms_to_datetime(r["first_ts"]),
                last_ts=ms_to_datetime(r["last_ts"]),
            )
        )
    return ActorPublic(
        actor_id=actor_id,
        risk_score=actor["risk_score"],
        known_bad=bool(actor["known_bad"]),
        cluster_id=actor["cluster_id"],
        flagged=bool(actor["flagged"]),
        flagged_via=actor["flagged_via"],
        neighbours=[
            Neighbour(actor_id=e["other"], weight=e["weight"], layers=by_other.get(e["other"], []))
            for e in edges.iter_rows(named=True)
        ],
    )
