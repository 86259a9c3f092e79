"""Turning snapshot rows and store records into response models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ringscope.api.models import ClusterSummary, LineagePublic, VerdictPublic
from ringscope.store import VerdictRecord

__all__ = ["ms_to_datetime", "to_summary", "to_verdict"]


def ms_to_datetime(ms: int | None) -> datetime | None:
    """Epoch milliseconds (snapshot times) as an aware UTC datetime."""
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def to_verdict(record: VerdictRecord) -> VerdictPublic:
    """A stored verdict as the API shows it."""
    return VerdictPublic(
        id=record.id,
        cluster_id=record.cluster_id,
        verdict=record.verdict,
        note=record.note,
        investigator=record.investigator,
        snapshot_id=record.snapshot_id,
        created_at=record.created_at,
    )


def to_summary(row: dict[str, Any], verdict: VerdictRecord | None) -> ClusterSummary:
    """A cluster row of a :class:`~ringscope.api.snapshot_view.SnapshotView` for the queue."""
    return ClusterSummary(
        cluster_id=row["cluster_id"],
        rank=row["rank"],
        score=row["score"],
        size=row["size"],
        kind=row["kind"],
        summary=row["summary"] or "",
        lineage=LineagePublic(status=row["lineage_status"], previous_ids=row["previous_ids"]),
        verdict=to_verdict(verdict) if verdict is not None else None,
        prior_score=row.get("prior_score"),
        review_state=row.get("review_state") or "open",
        review_reason=row.get("review_reason"),
        teach_reason=row.get("teach_reason"),
    )
