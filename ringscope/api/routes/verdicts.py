"""Investigator verdicts on clusters, keyed by the cluster's stable id.

Answers to bad input (tested in ``tests/api/test_feedback.py``):

* a cluster id the current snapshot lacks: 404 naming the snapshot searched;
* ``snapshot_id`` naming a snapshot that no longer exists: 409 (reload the queue; the
  cluster may live on under the same id in the current snapshot);
* a verdict that disagrees with another investigator's current label: recorded (201),
  and the cluster becomes ``disputed`` (``label``, ``disputed_with``): it teaches the
  ranker nothing until the investigators agree.
"""

from __future__ import annotations

import polars as pl
from fastapi import APIRouter, HTTPException, status

from ringscope.api.convert import to_verdict
from ringscope.api.deps import InvestigatorKey, SettingsDep, SnapshotDep, StoreDep
from ringscope.api.models import VerdictCreate, VerdictCreated, VerdictsPublic
from ringscope.api.responses import errors
from ringscope.api.routes.clusters import ClusterId, find_cluster
from ringscope.feedback.features import cluster_features, feature_vector
from ringscope.feedback.labels import cluster_labels

__all__ = ["router"]

router = APIRouter(prefix="/v1/clusters", tags=["verdicts"])
_RESPONSES = errors(
    400,
    404,
    409,
    e400="the body is not JSON",
    e404="no such cluster in the current snapshot",
    e409="the snapshot the verdict names no longer exists",
)


@router.post(
    "/{cluster_id}/verdicts",
    response_model=VerdictCreated,
    status_code=status.HTTP_201_CREATED,
    responses=_RESPONSES,
)
def create_verdict(
    cluster_id: ClusterId,
    body: VerdictCreate,
    view: SnapshotDep,
    store: StoreDep,
    settings: SettingsDep,
    key: InvestigatorKey,
) -> VerdictCreated:
    """Record a verdict on a cluster of the current snapshot (committed before the 201).

    The cluster's feature vector and members in this snapshot are stored with it, so the
    ranker and the risk model learn from it after the snapshot is gone.
    """
    asked = body.snapshot_id
    if (
        asked is not None
        and asked != view.snapshot_id
        and not (settings.snapshot_root / asked / "manifest.json").exists()
    ):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"snapshot {asked} no longer exists; reload the queue (current snapshot "
            f"{view.snapshot_id}) and judge the cluster as it is now",
        )
    row = find_cluster(view, cluster_id)
    features = feature_vector(
        cluster_features(
            pl.DataFrame([row]), "prior_score" if "prior_score" in row else "score"
        ).row(0, named=True)
    )
    members = view.members.filter(pl.col("cluster_id") == cluster_id)["actor_id"].to_list()
    record = store.add_verdict(
        cluster_id,
        body.verdict,
        investigator=body.investigator or key.name,
        snapshot_id=view.snapshot_id,
        note=body.note,
        key_id=key.id,
        features=features,
        actor_ids=members,
    )
    label = cluster_labels(store.verdicts(cluster_id)).get(cluster_id)
    state = "none"
    if label is not None:
        state = "disputed" if label.disputed else ("confirmed" if label.label else "dismissed")
    disputed_with = [i for i in (label.disputed_with if label else ()) if i != record.investigator]
    return VerdictCreated(
        **to_verdict(record).model_dump(), label=state, disputed_with=disputed_with
    )


@router.get("/{cluster_id}/verdicts", response_model=VerdictsPublic)
def list_verdicts(cluster_id: ClusterId, store: StoreDep, _key: InvestigatorKey) -> VerdictsPublic:
    """A cluster's verdict history, newest first (also for clusters no longer present)."""
    return VerdictsPublic(items=[to_verdict(v) for v in store.verdicts(cluster_id)])
