"""Investigator verdicts on clusters, keyed by the cluster's stable id."""

from __future__ import annotations

from fastapi import APIRouter, status

from ringscope.api.convert import to_verdict
from ringscope.api.deps import InvestigatorKey, SnapshotDep, StoreDep
from ringscope.api.models import VerdictCreate, VerdictPublic, VerdictsPublic
from ringscope.api.responses import errors
from ringscope.api.routes.clusters import ClusterId, find_cluster

__all__ = ["router"]

router = APIRouter(prefix="/v1/clusters", tags=["verdicts"])
_NOT_FOUND = errors(404, e404="no such cluster in the current snapshot")
_NOT_JSON = errors(400, e400="the body is not JSON")


@router.post(
    "/{cluster_id}/verdicts",
    response_model=VerdictPublic,
    status_code=status.HTTP_201_CREATED,
    responses=_NOT_FOUND | _NOT_JSON,
)
def create_verdict(
    cluster_id: ClusterId,
    body: VerdictCreate,
    view: SnapshotDep,
    store: StoreDep,
    key: InvestigatorKey,
) -> VerdictPublic:
    """Record a verdict on a cluster of the current snapshot (committed before the 201)."""
    find_cluster(view, cluster_id)
    record = store.add_verdict(
        cluster_id,
        body.verdict,
        investigator=body.investigator or key.name,
        snapshot_id=view.snapshot_id,
        note=body.note,
        key_id=key.id,
    )
    return to_verdict(record)


@router.get("/{cluster_id}/verdicts", response_model=VerdictsPublic)
def list_verdicts(cluster_id: ClusterId, store: StoreDep, _key: InvestigatorKey) -> VerdictsPublic:
    """A cluster's verdict history, newest first (also for clusters no longer present)."""
    return VerdictsPublic(items=[to_verdict(v) for v in store.verdicts(cluster_id)])
