"""The published snapshots and which one is being served."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi import APIRouter

from ringscope.api.deps import InvestigatorKey, SettingsDep, SnapshotDep
from ringscope.api.models import SnapshotPublic, SnapshotsPublic
from ringscope.api.snapshot_view import manifest_counts
from ringscope.snapshot import list_snapshots

__all__ = ["router"]

router = APIRouter(prefix="/v1/snapshots", tags=["snapshots"])


@router.get("", response_model=SnapshotsPublic)
def list_published(
    view: SnapshotDep, settings: SettingsDep, _key: InvestigatorKey
) -> SnapshotsPublic:
    """Every complete snapshot under the root, newest first; ``current`` is being served."""
    items = []
    for path in reversed(list_snapshots(settings.snapshot_root)):
        try:
            manifest = json.loads((path / "manifest.json").read_text())
            created = datetime.fromisoformat(manifest["created_at"]).astimezone(UTC)
            events, clusters = manifest_counts(manifest)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        items.append(
            SnapshotPublic(
                snapshot_id=path.name, created_at=created, events=events, clusters=clusters
            )
        )
    return SnapshotsPublic(current=view.snapshot_id, items=items)
