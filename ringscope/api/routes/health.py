"""Liveness, readiness (no key needed) and Prometheus metrics (service or admin key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ringscope.api.deps import HolderDep, StoreDep, require_role
from ringscope.api.models import Health, Readiness, SnapshotProblemPublic
from ringscope.api.responses import errors
from ringscope.store import ApiKey

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"description": "no valid snapshot, or the store is unreachable"}},
)
def readyz(holder: HolderDep, store: StoreDep) -> Readiness | JSONResponse:
    """A valid snapshot is loaded and the verdict store answers; ``degraded`` (with the
    problems) when a newer snapshot is broken or a part of the service is unavailable."""
    view = holder.current
    if view is None:
        holder.refresh()
        view = holder.current
    problems = [
        SnapshotProblemPublic(snapshot_id=p.snapshot_id, reason=p.reason) for p in holder.problems
    ]
    problem = None
    if view is None:
        why = "; ".join(f"{p.snapshot_id}: {p.reason}" for p in problems)
        problem = f"no valid snapshot ({why})" if why else "no snapshot loaded yet"
    elif not store.ping():
        problem = "verdict store unreachable"
    if problem:
        return JSONResponse({"detail": problem}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    return Readiness(snapshot_id=view.snapshot_id, degraded=bool(problems), problems=problems)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **errors(401, 403, 413, 503),
    },
)
def metrics(
    request: Request, _key: Annotated[ApiKey, Depends(require_role("service"))]
) -> Response:
    """Prometheus text: request counts and latency by route, the snapshot served."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
