"""One published snapshot held in memory, with the lookups the query API needs.

Everything is read and derived once at load time (polars frames, sorted for the routes),
so a request only filters and slices. A :class:`SnapshotView` is never mutated after
:func:`load_view` returns; that is what makes swapping one in atomic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ringscope.config import ScoreConfig
from ringscope.ranking.signals import SIGNAL_FAMILIES
from ringscope.snapshot import read_manifest, read_parquet_file, resolve_snapshot

__all__ = ["LAYER_KINDS", "SnapshotView", "load_view", "manifest_counts"]

#: Evidence layer -> the family investigators filter by (``kind`` of a cluster).
LAYER_KINDS = {
    "content": "content",
    "domain": "content",
    "short_link": "content",
    "victims": "victims",
    "device": "infrastructure",
    "ip": "infrastructure",
    "subnet": "infrastructure",
    "identity": "identity",
    "name": "identity",
    "signup_burst": "signup",
    "url": "content",
    "post": "content",
    "media": "content",
    "object": "content",
    "hashtag": "content",
    "target": "victims",
}

_EMPTY_EVIDENCE = {
    "src": pl.Utf8,
    "dst": pl.Utf8,
    "layer": pl.Utf8,
    "similarity": pl.Float64,
    "contribution": pl.Float64,
    "n_items": pl.UInt32,
    "first_ts": pl.Int64,
    "last_ts": pl.Int64,
}


def manifest_counts(manifest: dict[str, Any]) -> tuple[int, int]:
    """(events, clusters) of a snapshot as its manifest records them."""
    ranking = manifest.get("steps", {}).get("ranking", {})
    return int(manifest.get("events", 0)), int(ranking.get("clusters", 0))


def _read(snap: Path, name: str, schema: dict[str, pl.DataType] | None = None) -> pl.DataFrame:
    path = snap / f"{name}.parquet"
    if path.exists():
        return read_parquet_file(path)
    return pl.DataFrame(schema=schema or {})


def _kinds(clusters: pl.DataFrame, members: pl.DataFrame, evidence: pl.DataFrame) -> pl.DataFrame:
    """Dominant evidence family per cluster: the family with most internal contribution."""
    m = members.select("cluster_id", "actor_id")
    internal = (
        evidence.select("src", "dst", "layer", "contribution")
        .join(m.rename({"actor_id": "src"}), on="src")
        .join(m.rename({"actor_id": "dst", "cluster_id": "c2"}), on="dst")
        .filter(pl.col("cluster_id") == pl.col("c2"))
        .with_columns(pl.col("layer").replace_strict(LAYER_KINDS, default="unknown").alias("kind"))
        .group_by("cluster_id", "kind")
        .agg(pl.col("contribution").sum())
        .sort(["cluster_id", "contribution", "kind"], descending=[False, True, False])
        .group_by("cluster_id", maintain_order=True)
        .first()
        .select("cluster_id", "kind")
    )
    return clusters.select("cluster_id").join(internal, on="cluster_id", how="left")


@dataclass(frozen=True)
class SnapshotView:
    """The tables of one snapshot, ready to answer queries (read-only)."""

    snapshot_id: str
    path: Path
    created_at: datetime
    events: int
    clusters: pl.DataFrame
    members: pl.DataFrame
    actors: pl.DataFrame
    cluster_evidence: pl.DataFrame
    edges: pl.DataFrame
    evidence: pl.DataFrame
    timeline: pl.DataFrame
    signal_weights: dict[str, float]
    # the learned ranker's per-feature contributions (empty without a ranker)
    ranker_contributions: pl.DataFrame = field(default_factory=pl.DataFrame)

    def cluster(self, cluster_id: str) -> dict[str, Any] | None:
        """One cluster row as a dict, or None when this snapshot has no such cluster."""
        rows = self.clusters.filter(pl.col("cluster_id") == cluster_id)
        return rows.row(0, named=True) if rows.height else None


def _signal_weights(manifest: dict[str, Any], clusters: pl.DataFrame) -> dict[str, float]:
    """Each signal's weight within its family, as the snapshot was actually scored.

    The weight applied is ``contrib_<signal> / <signal>`` on any cluster where the signal
    is non-zero (a run may zero a configured weight, e.g. ``member_risk`` without a
    learned model); a signal that is zero everywhere shows its configured weight,
    normalised within its family.
    """
    raw = manifest.get("config", {}).get("scoring", {}).get("weights") or ScoreConfig().weights
    out = {}
    for signals in SIGNAL_FAMILIES.values():
        total = sum(raw.get(s, 0.0) for s in signals) or 1.0
        for name in signals:
            out[name] = raw.get(name, 0.0) / total
            contrib = f"contrib_{name}"
            if name in clusters.columns and contrib in clusters.columns:
                ratios = clusters.filter(pl.col(name) > 1e-9).select(
                    (pl.col(contrib) / pl.col(name)).median()
                )
                if ratios.item() is not None:
                    out[name] = float(ratios.item())
    return out


def load_view(path: Path) -> SnapshotView:
    """Read a snapshot (a directory, or a root with ``LATEST``) completely into memory."""
    snap = resolve_snapshot(path)
    manifest = read_manifest(snap)
    clusters = read_parquet_file(snap / "clusters.parquet")
    actors = read_parquet_file(snap / "actors.parquet").with_columns(
        pl.col("risk_score").fill_nan(0.0).fill_null(0.0)
    )
    members = (
        read_parquet_file(snap / "members.parquet", columns=["cluster_id", "actor_id"])
        .join(actors.select("actor_id", "risk_score", "known_bad"), on="actor_id", how="left")
        .with_columns(pl.col("risk_score").fill_null(0.0), pl.col("known_bad").fill_null(False))
        .sort(["cluster_id", "risk_score", "actor_id"], descending=[False, True, False])
    )
    evidence = _read(snap, "evidence", _EMPTY_EVIDENCE)
    if "items" in evidence.columns:
        evidence = evidence.drop("items")
    lineage = _read(
        snap,
        "lineage",
        {"cluster_id": pl.Utf8, "status": pl.Utf8, "previous_ids": pl.List(pl.Utf8)},
    )
    numeric = [c for c, t in clusters.schema.items() if t.is_float()]
    clusters = (
        clusters.with_columns(pl.col(numeric).fill_nan(0.0).fill_null(0.0))
        .join(_kinds(clusters, members, evidence), on="cluster_id", how="left")
        .join(lineage, on="cluster_id", how="left")
        .with_columns(
            pl.col("kind").fill_null("unknown"),
            pl.col("status").fill_null("new").alias("lineage_status"),
            pl.col("previous_ids").fill_null([]),
        )
        .drop("status")
        .sort("rank")
    )
    events, _ = manifest_counts(manifest)
    return SnapshotView(
        snapshot_id=str(manifest["snapshot_id"]),
        path=snap,
        created_at=datetime.fromisoformat(manifest["created_at"]).astimezone(UTC),
        events=events,
        clusters=clusters,
        members=members,
        actors=actors.select(
            "actor_id",
            "risk_score",
            "cluster_id",
            "known_bad",
            # snapshots before account flags lack these columns
            pl.col("flagged") if "flagged" in actors.columns else pl.lit(False).alias("flagged"),
            pl.col("flagged_via")
            if "flagged_via" in actors.columns
            else pl.lit(None, dtype=pl.Utf8).alias("flagged_via"),
        ),
        cluster_evidence=_read(snap, "cluster_evidence"),
        edges=_read(
            snap,
            "edges",
            {"src": pl.Utf8, "dst": pl.Utf8, "weight": pl.Float64, "layers": pl.List(pl.Utf8)},
        ),
        evidence=evidence,
        timeline=_read(
            snap,
            "cluster_timeline",
            {"cluster_id": pl.Utf8, "bucket_start": pl.Int64, "events": pl.Int64},
        ),
        signal_weights=_signal_weights(manifest, clusters),
        ranker_contributions=_read(snap, "ranker_contributions"),
    )
