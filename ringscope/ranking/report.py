"""Terminal rendering of a snapshot's top clusters, for the demo and quick looks."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from rich.table import Table

from ringscope.ranking.signals import SIGNALS
from ringscope.snapshot import read_table

__all__ = ["top_clusters_table"]


def top_clusters_table(snapshot: Path, *, top: int = 10) -> Table:
    """The ``top`` ranked clusters with score breakdown, summary and strongest evidence."""
    clusters = read_table(snapshot, "clusters").sort("rank").head(top)
    evidence = pl.read_parquet(snapshot / "cluster_evidence.parquet")
    table = Table(title=f"Top {min(top, clusters.height)} coordinated clusters", show_lines=True)
    for col, kw in (
        ("#", {"justify": "right"}),
        ("score", {"justify": "right"}),
        ("size", {"justify": "right"}),
        ("why (top signals)", {}),
        ("summary and evidence", {"ratio": 1}),
    ):
        table.add_column(col, **kw)
    for row in clusters.iter_rows(named=True):
        contribs = sorted(((row[f"contrib_{s}"], s) for s in SIGNALS), reverse=True)[:3]
        why = "\n".join(f"{s} {row[s]:.2f}" for _, s in contribs)
        items = (
            evidence.filter(pl.col("cluster_id") == row["cluster_id"])
            .sort("pairs", descending=True)
            .group_by("layer", maintain_order=True)
            .head(2)
            .head(4)
        )
        lines = [
            f"{it['layer']}: {it['item']} ({it['actors']} accounts)"
            for it in items.iter_rows(named=True)
        ]
        table.add_row(
            str(row["rank"]),
            f"{row['score']:.2f}",
            str(row["size"]),
            why,
            row["summary"] + ("\n" + "\n".join(lines) if lines else ""),
        )
    return table
