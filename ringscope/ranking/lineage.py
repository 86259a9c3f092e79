"""Stable cluster identity across snapshots: the same ring keeps its id.

A fresh run names each cluster by a hash of its member set, so a ring that gains one
account would get a new id and lose every verdict an investigator recorded on it. The
``lineage`` step matches the new clusters to the previous snapshot's clusters by member
overlap and lets each matched cluster inherit the old id.

Two clusters are *linked* when they share at least ``min_shared`` actors and the overlap
coefficient ``|N ∩ O| / min(|N|, |O|)`` reaches ``min_overlap`` (so a ring that doubled in
size still matches the ring it grew from). Ids are then handed out one-to-one, greedily
by shared actors (ties: Jaccard, then ids), so no id is ever used twice. The status of a
new cluster ``N`` says how it relates to the previous clusters:

* ``new``: linked to no previous cluster; keeps its content-hash id;
* ``merged``: linked to two or more previous clusters;
* ``split``: linked to one previous cluster that is linked to several new clusters
  (the child sharing the most actors keeps the id, the others get fresh ids);
* ``same`` / ``grew`` / ``shrank``: a one-to-one match of equal, larger or smaller size.

``previous_ids`` lists the linked previous ids. The matching is deterministic: the same
two snapshots always give the same ids. This is the community-evolution matching of
Greene, Doyle and Cunningham, "Tracking the evolution of communities in dynamic social
networks" (ASONAM 2010), with the overlap coefficient in place of Jaccard.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ringscope.ranking.scoring import cluster_id_for

if TYPE_CHECKING:
    from ringscope.run_state import RunState

__all__ = [
    "LINEAGE_STATUSES",
    "LINEAGE_TABLE",
    "LineageConfig",
    "apply_lineage",
    "lineage_step",
    "match_clusters",
]

LINEAGE_STATUSES = ("new", "same", "grew", "shrank", "split", "merged")
LINEAGE_TABLE = "lineage"
_LINEAGE_SCHEMA = {"cluster_id": pl.Utf8, "status": pl.Utf8, "previous_ids": pl.List(pl.Utf8)}


@dataclass(frozen=True)
class LineageConfig:
    """Thresholds for calling two clusters of consecutive snapshots the same ring."""

    min_overlap: float = 0.5
    min_shared: int = 2


def _links(new: pl.DataFrame, old: pl.DataFrame, cfg: LineageConfig) -> pl.DataFrame:
    """Linked (new, old) cluster pairs with their shared-actor count and Jaccard."""
    new_sizes = new.group_by("cluster_id").agg(pl.len().alias("n_new"))
    old_sizes = old.group_by("cluster_id").agg(pl.len().alias("n_old"))
    shared = (
        new.join(old.rename({"cluster_id": "old_id"}), on="actor_id")
        .group_by("cluster_id", "old_id")
        .agg(pl.len().alias("shared"))
        .join(new_sizes, on="cluster_id")
        .join(old_sizes.rename({"cluster_id": "old_id"}), on="old_id")
    )
    overlap = pl.col("shared") / pl.min_horizontal("n_new", "n_old")
    jaccard = pl.col("shared") / (pl.col("n_new") + pl.col("n_old") - pl.col("shared"))
    return (
        shared.with_columns(overlap.alias("overlap"), jaccard.alias("jaccard"))
        .filter((pl.col("shared") >= cfg.min_shared) & (pl.col("overlap") >= cfg.min_overlap))
        .sort(
            ["shared", "jaccard", "cluster_id", "old_id"],
            descending=[True, True, False, False],
        )
    )


def _status(n_preds: int, n_succ_of_pred: int, n_new: int, n_old: int) -> str:
    if n_preds == 0:
        return "new"
    if n_preds >= 2:
        return "merged"
    if n_succ_of_pred >= 2:
        return "split"
    if n_new > n_old:
        return "grew"
    return "shrank" if n_new < n_old else "same"


def match_clusters(
    new_members: pl.DataFrame,
    previous_members: pl.DataFrame | None,
    cfg: LineageConfig | None = None,
) -> pl.DataFrame:
    """Stable id, status and linked previous ids of every new cluster.

    Args:
        new_members: ``cluster_id`` (content-hash id of this run), ``actor_id``.
        previous_members: the previous snapshot's ``cluster_id``, ``actor_id`` (or None).
        cfg: match thresholds.

    Returns:
        One row per new cluster: ``hash_id`` (its id in ``new_members``), ``cluster_id``
        (the stable id), ``status`` and ``previous_ids`` (sorted).
    """
    cfg = cfg or LineageConfig()
    new = new_members.select("cluster_id", "actor_id").unique()
    sizes = dict(new.group_by("cluster_id").agg(pl.len()).iter_rows())
    if previous_members is None or previous_members.is_empty():
        links = pl.DataFrame(schema={"cluster_id": pl.Utf8, "old_id": pl.Utf8, "shared": pl.UInt32})
        old_sizes: dict[str, int] = {}
    else:
        old = previous_members.select("cluster_id", "actor_id").unique()
        old_sizes = dict(old.group_by("cluster_id").agg(pl.len()).iter_rows())
        links = _links(new, old, cfg)

    preds: dict[str, list[str]] = {}
    succs: dict[str, list[str]] = {}
    inherited: dict[str, str] = {}
    taken: set[str] = set()
    for new_id, old_id, *_ in links.iter_rows():
        preds.setdefault(new_id, []).append(old_id)
        succs.setdefault(old_id, []).append(new_id)
        if new_id not in inherited and old_id not in taken:
            inherited[new_id] = old_id
            taken.add(old_id)

    rows = []
    used = set(inherited.values())
    for hash_id in sorted(sizes):
        linked = sorted(preds.get(hash_id, []))
        stable = inherited.get(hash_id)
        if stable is None:
            stable = _fresh_id(hash_id, used)
            used.add(stable)
        only = linked[0] if len(linked) == 1 else None
        status = _status(
            len(linked),
            len(succs.get(only, [])) if only else 0,
            sizes[hash_id],
            old_sizes.get(only, 0) if only else 0,
        )
        rows.append((hash_id, stable, status, linked))
    return pl.DataFrame(
        rows,
        schema={"hash_id": pl.Utf8} | _LINEAGE_SCHEMA,
        orient="row",
    )


def _fresh_id(hash_id: str, used: set[str]) -> str:
    """The content-hash id, re-hashed in the rare case an inherited id already holds it."""
    candidate, salt = hash_id, 0
    while candidate in used:
        salt += 1
        candidate = cluster_id_for([hash_id, str(salt)])
    return candidate


def apply_lineage(
    tables: dict[str, pl.DataFrame],
    previous: Path | None,
    cfg: LineageConfig | None = None,
) -> dict[str, pl.DataFrame]:
    """Rename clusters to their stable ids in every table and add the ``lineage`` table.

    Every table with a ``cluster_id`` column is rewritten, so tables added by later
    pipeline work follow the same identity. ``previous`` is the previous snapshot
    directory (its ``members.parquet`` is read), or None for the first snapshot.
    """
    previous_members = (
        pl.read_parquet(previous / "members.parquet", columns=["cluster_id", "actor_id"])
        if previous is not None
        else None
    )
    matched = match_clusters(tables["members"], previous_members, cfg)
    mapping = matched.select("hash_id", "cluster_id")
    out: dict[str, pl.DataFrame] = {}
    for name, table in tables.items():
        if "cluster_id" not in table.columns:
            out[name] = table
            continue
        columns = table.columns
        out[name] = (
            table.rename({"cluster_id": "hash_id"})
            .join(mapping, on="hash_id", how="left", maintain_order="left")
            .with_columns(pl.coalesce("cluster_id", "hash_id").alias("cluster_id"))
            .select(columns)
        )
    ranks = tables["clusters"].select(pl.col("cluster_id").alias("hash_id"), "rank")
    out[LINEAGE_TABLE] = (
        matched.join(ranks, on="hash_id", how="left")
        .sort("rank", "cluster_id", nulls_last=True)
        .select(list(_LINEAGE_SCHEMA))
    )
    return out


def lineage_step(state: RunState) -> dict[str, Any]:
    """Pipeline step ``lineage``: stable ids in ``state.tables`` from ``state.previous``."""
    state.tables = apply_lineage(state.tables, state.previous)
    counts = state.tables[LINEAGE_TABLE].group_by("status").agg(pl.len()).iter_rows()
    return {
        "previous_snapshot": state.previous.name if state.previous is not None else None,
        "statuses": dict(sorted(counts)),
    }
