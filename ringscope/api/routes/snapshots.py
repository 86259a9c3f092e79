"""The published snapshots and which one is being served."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi import APIRouter

from ringscope.api.deps import HolderDep, InvestigatorKey, SettingsDep, SnapshotDep
from ringscope.api.models import SnapshotProblemPublic, SnapshotPublic, SnapshotsPublic
from ringscope.api.snapshot_view import manifest_counts
from ringscope.snapshot import list_snapshots

__all__ = ["router"]

router = APIRouter(prefix="/v1/snapshots", tags=["snapshots"])


@router.get("", response_model=SnapshotsPublic)
def list_published(
    view: SnapshotDep, holder: HolderDep, settings: SettingsDep, _key: InvestigatorKey
) -> SnapshotsPublic:
    """Every published snapshot under the root, newest first; ``current`` is being served,
    ``valid: false`` ones failed validation (``problem`` says why) and are never served."""
    items = []
    for path in reversed(list_snapshots(settings.snapshot_root)):
        problem = holder.problem_of(path.name)
        created = events = clusters = None
        try:
            manifest = json.loads((path / "manifest.json").read_text())
            created = datetime.fromisoformat(manifest["created_at"]).astimezone(UTC)
            events, clusters = manifest_counts(manifest)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problem = problem or f"unreadable manifest: {type(exc).__name__}"
        items.append(
            SnapshotPublic(
                snapshot_id=path.name,
                created_at=created,
                events=events,
                clusters=clusters,
                valid=problem is None,
                problem=problem,
            )
        )
    problems = [
        SnapshotProblemPublic(snapshot_id=p.snapshot_id, reason=p.reason) for p in holder.problems
    ]
    return SnapshotsPublic(
        current=view.snapshot_id, degraded=bool(problems), problems=problems, items=items
    )
