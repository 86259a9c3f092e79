"""Takedown lists: a snapshot plus investigator verdicts -> the accounts to act on.

Selection rules, in order:

* a cluster whose latest verdict is ``dismissed`` is never listed (an investigator looked
  and found no ring), whatever its score;
* a cluster whose latest verdict is ``confirmed`` is always listed, whatever its score;
* any other cluster is listed when its score is at least ``min_score``.

Listed clusters are ordered confirmed first, then by score (highest first), then by
cluster id; ``max_clusters`` keeps the first N. Rows are one per member account, in that
cluster order and then by actor id, with a fixed column order, so one snapshot and one
set of settings and verdicts always give byte-identical files (CSV, or Parquet written
with fixed options). CSV text cells are always quoted, and one that a spreadsheet would
run as a formula (starting with ``= + - @``, a tab or a carriage return) is prefixed
with ``'`` (OWASP's CSV-injection guidance): actor ids come from event logs, so from
whoever wrote the events.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ringscope.errors import RingscopeError
from ringscope.snapshot import read_table

__all__ = [
    "COLUMNS",
    "TakedownList",
    "TakedownSettings",
    "audit_payload",
    "csv_safe",
    "output_format",
    "takedown_list",
    "write_takedown",
]

#: Column order of a takedown file.
COLUMNS = ("actor", "cluster", "score", "reasons")
_FORMATS = {".csv": "csv", ".parquet": "parquet"}
_FORMULA_START = r"^[=+\-@\t\r]"


@dataclass(frozen=True)
class TakedownSettings:
    """What a flag run selects: the score threshold and an optional cluster cap."""

    min_score: float
    max_clusters: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_score <= 1.0:
            raise RingscopeError(f"--min-score must be between 0 and 1, got {self.min_score}")
        if self.max_clusters is not None and self.max_clusters < 1:
            raise RingscopeError(f"--max-clusters must be at least 1, got {self.max_clusters}")


@dataclass(frozen=True)
class TakedownList:
    """The selected rows and the counts behind them (for ``--dry-run`` and the audit log)."""

    rows: pl.DataFrame
    counts: dict[str, int]


def takedown_list(
    snapshot: Path, settings: TakedownSettings, verdicts: Mapping[str, str]
) -> TakedownList:
    """Select clusters by score and verdict; one row per member account.

    Args:
        snapshot: a published snapshot directory.
        settings: threshold and cap.
        verdicts: latest verdict per stable cluster id (clusters without one are absent).
    """
    clusters = read_table(snapshot, "clusters").select("cluster_id", "score", "summary")
    verdict = pl.DataFrame(
        {"cluster_id": list(verdicts), "verdict": list(verdicts.values())},
        schema={"cluster_id": pl.Utf8, "verdict": pl.Utf8},
    )
    clusters = clusters.join(verdict, on="cluster_id", how="left")
    confirmed = pl.col("verdict") == "confirmed"
    dismissed = pl.col("verdict") == "dismissed"
    over = pl.col("score") >= settings.min_score
    eligible = (
        clusters.filter(confirmed.fill_null(False) | (over & ~dismissed.fill_null(False)))
        .with_columns(confirmed.fill_null(False).alias("confirmed"))
        .sort(["confirmed", "score", "cluster_id"], descending=[True, True, False])
    )
    chosen = eligible.head(settings.max_clusters) if settings.max_clusters else eligible
    chosen = chosen.with_row_index("order")
    members = read_table(snapshot, "members").select("cluster_id", "actor_id")
    rows = (
        members.join(chosen, on="cluster_id")
        .sort("order", "actor_id")
        .select(
            pl.col("actor_id").alias("actor"),
            pl.col("cluster_id").alias("cluster"),
            pl.col("score"),
            _reasons(settings.min_score).alias("reasons"),
        )
    )
    counts = {
        "clusters_in_snapshot": clusters.height,
        "clusters_over_threshold": clusters.filter(over).height,
        "dismissed_excluded": clusters.filter(over & dismissed.fill_null(False)).height,
        "confirmed_below_threshold": clusters.filter(~over & confirmed.fill_null(False)).height,
        "clusters_flagged": chosen.height,
        "actors_flagged": rows.height,
    }
    return TakedownList(rows=rows, counts=counts)


def _reasons(min_score: float) -> pl.Expr:
    """Why a row is listed: the verdict or the threshold, then the cluster's summary."""
    why = (
        pl.when(pl.col("confirmed"))
        .then(pl.lit("confirmed by an investigator"))
        .otherwise(
            pl.format("score {} >= {}", pl.col("score").round(3), pl.lit(f"{min_score:.3f}"))
        )
    )
    return pl.concat_str([why, pl.col("summary")], separator="; ")


def output_format(path: Path) -> str:
    """``csv`` or ``parquet`` from the file suffix; anything else is an error."""
    try:
        return _FORMATS[path.suffix.lower()]
    except KeyError:
        raise RingscopeError(f"--out must end in .csv or .parquet, got {path.name!r}") from None


def csv_safe(rows: pl.DataFrame) -> pl.DataFrame:
    """Text cells a spreadsheet would run as formulas, prefixed with ``'`` (OWASP)."""
    text = [c for c, t in rows.schema.items() if t == pl.Utf8]
    return rows.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_START))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def write_takedown(rows: pl.DataFrame, path: Path) -> str:
    """Write the rows atomically in the format the suffix names; returns the file's SHA-256.

    Parquet is written with fixed options (zstd, no statistics, one row group) so equal
    rows give equal bytes.
    """
    fmt = output_format(path)
    if not path.parent.is_dir():
        raise RingscopeError(f"output directory does not exist: {path.parent}")
    partial = path.with_name(f".{path.name}.partial")
    if fmt == "csv":
        csv_safe(rows).write_csv(partial, quote_style="non_numeric")
    else:
        rows.write_parquet(
            partial, compression="zstd", statistics=False, row_group_size=max(rows.height, 1)
        )
    digest = hashlib.sha256(partial.read_bytes()).hexdigest()
    os.replace(partial, path)
    return digest


def audit_payload(
    snapshot: Path, settings: TakedownSettings, result: TakedownList, **extra: Any
) -> dict[str, Any]:
    """The audit record of one flag run: snapshot, settings, counts (and output digest)."""
    return {
        "snapshot": snapshot.name,
        "settings": asdict(settings),
        "counts": result.counts,
    } | extra
