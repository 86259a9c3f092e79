"""Liveness, readiness (no key needed) and Prometheus metrics (service or admin key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ringscope.api.deps import HolderDep, StoreDep, require_role
from ringscope.api.models import Health, Readiness
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
    responses={503: {"description": "no snapshot loaded or the store is unreachable"}},
)
def readyz(holder: HolderDep, store: StoreDep) -> Readiness | JSONResponse:
    """A snapshot is loaded and the verdict store answers."""
    view = holder.current
    if view is None:
        holder.refresh()
        view = holder.current
    problem = None
    if view is None:
        problem = "no snapshot loaded yet"
    elif not store.ping():
        problem = "verdict store unreachable"
    if problem:
        return JSONResponse({"detail": problem}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    return Readiness(snapshot_id=view.snapshot_id)


@router.get("/metrics", response_class=Response)
def metrics(
    request: Request, _key: Annotated[ApiKey, Depends(require_role("service"))]
) -> Response:
    """Prometheus text: request counts and latency by route, the snapshot served."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
