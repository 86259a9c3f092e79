"""``GET /v1/stats`` (investigator): what the served snapshot looks like, to spot drift.

Per snapshot: the score distribution of its clusters (quantiles and a ten-bin
histogram), cluster churn against the previous snapshot (lineage statuses), evidence
volume per layer, and the reject rate of its run; with ``--ingest``, the stream's state
too (log size, backlog, lag, posted rejects, the last micro-batch). An operator comparing
two answers sees when the input changes: a jump in rejects, a layer going silent, a
score distribution sliding.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ringscope.api.deps import InvestigatorKey, SnapshotDep
from ringscope.api.responses import errors
from ringscope.ranking.lineage import LINEAGE_STATUSES
from ringscope.snapshot import read_manifest

__all__ = ["router"]

router = APIRouter(tags=["operations"])

_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)
_BINS = 10


def _scores(clusters: pl.DataFrame) -> dict[str, Any]:
    scores = clusters["score"]
    counts = (
        (scores * _BINS).floor().clip(0, _BINS - 1).cast(pl.Int64).value_counts()
        if scores.len()
        else pl.DataFrame({"score": [], "count": []})
    )
    per_bin = dict(counts.iter_rows())
    return {
        "clusters": clusters.height,
        "flagged": int(clusters["flagged"].sum()) if "flagged" in clusters.columns else 0,
        "quantiles": {
            f"p{round(q * 100)}": (float(scores.quantile(q)) if scores.len() else None)
            for q in _QUANTILES
        },
        "histogram": [
            {"low": i / _BINS, "high": (i + 1) / _BINS, "clusters": int(per_bin.get(i, 0))}
            for i in range(_BINS)
        ],
    }


def _evidence(evidence: pl.DataFrame) -> list[dict[str, Any]]:
    if evidence.is_empty():
        return []
    volume = evidence.group_by("layer").agg(
        pl.len().alias("pairs"),
        pl.col("n_items").sum().alias("items") if "n_items" in evidence.columns else pl.lit(0),
    )
    return volume.sort("layer").to_dicts()


def _run(manifest: dict[str, Any]) -> dict[str, Any]:
    events = int(manifest.get("events", 0))
    rejected = int(manifest.get("rejected", 0))
    duplicates = int(manifest.get("duplicates", 0))
    records = events + rejected + duplicates
    return {
        "events": events,
        "rejected": rejected,
        "duplicates": duplicates,
        "reject_rate": rejected / records if records else 0.0,
    }


def _stream(request: Request) -> dict[str, Any] | None:
    service = getattr(request.app.state, "ingest", None)
    if service is None:
        return None
    batcher = service.batcher
    last = batcher.last
    return {
        "log_events": service.log.total,
        "backlog": batcher.backlog,
        "lag_s": round(batcher.lag_s(), 3),
        "posted_rejects": service.log.rejected_total,
        "batch_interval_s": batcher.interval_s,
        "last_batch": None if last is None else last.__dict__,
    }


@router.get("/v1/stats", responses=errors(503))
def get_stats(request: Request, view: SnapshotDep, _key: InvestigatorKey) -> JSONResponse:
    """Score distribution, churn, evidence per layer and rejects of the served snapshot."""
    manifest = read_manifest(view.path)
    statuses = view.clusters["lineage_status"].value_counts()
    churn = {status: 0 for status in LINEAGE_STATUSES} | dict(statuses.iter_rows())
    body = {
        "snapshot_id": view.snapshot_id,
        "created_at": view.created_at.isoformat(),
        "age_s": round(time.time() - view.created_at.timestamp(), 3),
        "run": _run(manifest),
        "scores": _scores(view.clusters),
        "churn": churn,
        "evidence": _evidence(view.evidence),
        "stream": _stream(request),
    }
    return JSONResponse(orjson.loads(orjson.dumps(body, default=str)))
