"""``GET /v1/stats`` (investigator): what the served snapshot looks like, to spot drift.

Per snapshot: the score distribution of its clusters (quantiles and a ten-bin
histogram), cluster churn against the previous snapshot (lineage statuses), evidence
volume per layer, and the reject rate of its run; with ``--ingest``, the stream's state
too (log size, backlog, lag, posted rejects, the last micro-batch). ``history`` holds the
same summary for the newest published snapshots, so the web page's drift panel shows
the input changing over time: a jump in rejects, a layer going silent, a score
distribution sliding. Published snapshots never change, so each one's summary is read
from its files once and cached.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import orjson
import polars as pl
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from ringscope.api.deps import HolderDep, InvestigatorKey, SettingsDep, SnapshotDep
from ringscope.api.responses import errors
from ringscope.errors import SnapshotError
from ringscope.ranking.lineage import LINEAGE_STATUSES, LINEAGE_TABLE
from ringscope.snapshot import list_snapshots, read_manifest, read_parquet_file

__all__ = ["router"]

router = APIRouter(tags=["operations"])

_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)
_BINS = 10
_HISTORY_DEFAULT = 20
_HISTORY_MAX = 100


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


def _churn(statuses: pl.Series) -> dict[str, int]:
    """Clusters per lineage status (a cluster without a lineage row is new)."""
    counts = statuses.fill_null("new").value_counts()
    return {status: 0 for status in LINEAGE_STATUSES} | dict(counts.iter_rows())


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


def _summary(
    manifest: dict[str, Any], clusters: pl.DataFrame, statuses: pl.Series, evidence: pl.DataFrame
) -> dict[str, Any]:
    """One snapshot's drift figures: the same formulas for the served one and its history."""
    return {
        "snapshot_id": str(manifest["snapshot_id"]),
        "created_at": str(manifest["created_at"]),
        "run": _run(manifest),
        "scores": _scores(clusters),
        "churn": _churn(statuses),
        "evidence": _evidence(evidence),
    }


def _table(snapshot: Path, name: str, columns: list[str]) -> pl.DataFrame:
    """The named columns of a snapshot table that has them (older snapshots may not)."""
    path = snapshot / f"{name}.parquet"
    if not path.exists():
        return pl.DataFrame(schema={c: pl.Utf8 for c in columns})
    frame = read_parquet_file(path)
    return frame.select([c for c in columns if c in frame.columns])


@lru_cache(maxsize=_HISTORY_MAX * 2)
def _published_summary(snapshot: Path) -> dict[str, Any]:
    """Drift figures of a published snapshot, read from its files (they never change)."""
    clusters = _table(snapshot, "clusters", ["cluster_id", "score", "flagged"])
    clusters = clusters.with_columns(pl.col("score").cast(pl.Float64).fill_nan(0.0).fill_null(0.0))
    lineage = _table(snapshot, LINEAGE_TABLE, ["cluster_id", "status"])
    statuses = clusters.select("cluster_id").join(lineage, on="cluster_id", how="left")
    evidence = _table(snapshot, "evidence", ["layer", "n_items"])
    return _summary(read_manifest(snapshot), clusters, statuses["status"], evidence)


def _history(
    root: Path, holder_problem: Callable[[str], str | None], limit: int
) -> list[dict[str, Any]]:
    """Summaries of the newest ``limit`` valid published snapshots, newest first."""
    summaries: list[dict[str, Any]] = []
    for path in reversed(list_snapshots(root)):
        if len(summaries) >= limit:
            break
        if holder_problem(path.name) is not None:
            continue
        try:
            summaries.append(_published_summary(path))
        except (OSError, ValueError, KeyError, TypeError, SnapshotError, pl.exceptions.PolarsError):
            continue  # removed by retention while read, or unreadable: /v1/snapshots says why
    return summaries


@router.get("/v1/stats", responses=errors(503))
def get_stats(
    request: Request,
    view: SnapshotDep,
    holder: HolderDep,
    settings: SettingsDep,
    _key: InvestigatorKey,
    history: Annotated[
        int,
        Query(ge=0, le=_HISTORY_MAX, description="how many published snapshots to summarise"),
    ] = _HISTORY_DEFAULT,
) -> JSONResponse:
    """Score distribution, churn, evidence per layer and rejects of the served snapshot,
    and the same figures for the newest published snapshots (``history``, newest first)."""
    body = _summary(
        read_manifest(view.path), view.clusters, view.clusters["lineage_status"], view.evidence
    ) | {
        "snapshot_id": view.snapshot_id,
        "created_at": view.created_at.isoformat(),
        "age_s": round(time.time() - view.created_at.timestamp(), 3),
        "stream": _stream(request),
        "history": _history(settings.snapshot_root, holder.problem_of, history),
    }
    return JSONResponse(orjson.loads(orjson.dumps(body, default=str)))
