"""The two open coordinated-sharing detectors ringscope is compared with, on one table.

Input everywhere is a *sharing table*: one row per (account, post, shared object) with
``object_id``, ``account_id``, ``content_id`` (the post) and ``timestamp_share`` (epoch
seconds), CooRTweet's own layout.

* :func:`coortweet_detect_groups` and :func:`coortweet_network` re-implement CooRTweet
  (R package, github.com/nicolarighetti/CooRTweet at commit d31a008), following
  ``R/detect_groups.R`` lines 122-183 (``do_detect_groups``: account pre-filter l.134,
  per-object pairs l.147-150, loops l.160-162, participation filter l.166-168, order
  l.175-180), ``do_remove_loops`` l.196-207, ``filter_min_participation`` l.222-246,
  ``R/calc_group_combinations.R`` l.19-40 (every pair of rows of one object, earlier
  row first, ``abs(time_delta) <= time_window``) and ``R/generate_coordinated_network.R``
  l.153-198 (pairs ordered ``pmin``/``pmax``, ``weight = .N``, ``avg_time_delta``,
  ``n_content_id``, ``n_content_id_y``, ``edge_symmetry_score``; the network's vertices
  are every account of an edge). ``edge_weight`` only marks edges above a weight
  percentile (l.377-440, ``weight_threshold``) and removes nothing with ``subgraph = 0``,
  the default, so the flagged accounts are all vertices.
* :func:`qut_co_link` runs the QUT Digital Media Research Centre's
  ``coordination-network-toolkit`` (PyPI) ``compute_co_link_network`` on an SQLite file
  it fills with ``preprocess_data``; edges are directed ``(user_1, user_2, weight)``
  with ``weight`` the distinct messages of ``user_1`` with a partner share in the window.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import polars as pl

__all__ = ["coortweet_detect_groups", "coortweet_network", "qut_co_link", "sharing_rows"]


def sharing_rows(table: pl.DataFrame, objects: tuple[str, ...] = ("url_id",)) -> pl.DataFrame:
    """CooRTweet's layout from a sharing table: the German layout's ``objects`` columns
    (each becomes ``<column>:<id>`` objects), or an ``object_id`` table as it is."""
    if "object_id" in table.columns:
        return table.select(
            pl.col("object_id").cast(pl.Utf8),
            pl.col("account_id").cast(pl.Utf8),
            pl.col("content_id").cast(pl.Utf8),
            pl.col("timestamp_share").cast(pl.Float64),
        )
    parts = [
        table.filter(pl.col(c).is_not_null()).select(
            (pl.lit(f"{c}:") + pl.col(c).cast(pl.Int64).cast(pl.Utf8)).alias("object_id"),
            pl.col("account_id").cast(pl.Utf8),
            pl.col("post_id").cast(pl.Utf8).alias("content_id"),
            pl.col("timestamp").cast(pl.Float64).alias("timestamp_share"),
        )
        for c in objects
    ]
    return pl.concat(parts).unique(maintain_order=True)


def _group_combinations(x: pl.DataFrame, time_window: float) -> pl.DataFrame:
    """calc_group_combinations over every object: rows i < j (input order) within the window.

    Sorted by time within each object, the partners of a row inside the window form a
    contiguous run, found by binary search; the pair is then oriented as in R (the row
    that came first in the input is ``content_id``) and ``time_delta`` is its signed
    difference, as ``timestamp_share - i.timestamp_share`` in the R join.
    """
    x = x.with_row_index("id").with_columns(
        pl.col("object_id").cast(pl.Categorical).to_physical().alias("obj")
    )
    srt = x.sort("obj", "timestamp_share", "id")
    obj = srt["obj"].to_numpy().astype(np.int64)
    ts = srt["timestamp_share"].to_numpy()
    rel = ts - ts.min()
    span = float(rel.max() + time_window + 1.0) if len(rel) else 1.0
    key = obj * span + rel
    end = np.searchsorted(key, key + time_window, side="right")
    count = end - np.arange(len(key)) - 1
    left = np.repeat(np.arange(len(key)), count)
    starts = np.repeat(np.cumsum(count) - count, count)
    right = left + (np.arange(int(count.sum())) - starts) + 1
    ids = srt["id"].to_numpy()
    first = np.where(ids[left] < ids[right], left, right)
    second = np.where(ids[left] < ids[right], right, left)
    cols = {c: srt[c].to_numpy() for c in ("object_id", "content_id", "account_id")}
    return pl.DataFrame(
        {
            "object_id": cols["object_id"][first],
            "content_id": cols["content_id"][first],
            "content_id_y": cols["content_id"][second],
            "time_delta": ts[first] - ts[second],
            "account_id": cols["account_id"][first],
            "account_id_y": cols["account_id"][second],
        }
    )


def coortweet_detect_groups(
    x: pl.DataFrame, time_window: float = 10, min_participation: int = 2, remove_loops: bool = True
) -> pl.DataFrame:
    """CooRTweet ``detect_groups``: coordinated share pairs (see the module docstring)."""
    x = x.filter(pl.len().over("account_id") >= min_participation)  # l.134
    result = _group_combinations(x, time_window)  # l.147-150
    if remove_loops:  # l.196-207
        result = result.filter(
            (pl.col("object_id") != pl.col("content_id"))
            & (pl.col("object_id") != pl.col("content_id_y"))
            & (pl.col("content_id") != pl.col("content_id_y"))
            & (pl.col("account_id") != pl.col("account_id_y"))
        )
    if min_participation >= 1:  # l.222-246
        content_ids = pl.concat([result["content_id"], result["content_id_y"]]).unique()
        filt = x.filter(pl.col("content_id").is_in(content_ids.implode())).filter(
            pl.len().over("account_id") >= min_participation
        )
        keep = filt["content_id"].unique().implode()
        result = result.filter(
            pl.col("content_id").is_in(keep) | pl.col("content_id_y").is_in(keep)
        )
    swap = pl.col("time_delta") > 0  # l.175-180
    return result.select(
        "object_id",
        pl.when(swap).then("content_id_y").otherwise("content_id").alias("content_id"),
        pl.when(swap).then("content_id").otherwise("content_id_y").alias("content_id_y"),
        pl.col("time_delta").abs(),
        pl.when(swap).then("account_id_y").otherwise("account_id").alias("account_id"),
        pl.when(swap).then("account_id").otherwise("account_id_y").alias("account_id_y"),
    )


def coortweet_network(groups: pl.DataFrame) -> pl.DataFrame:
    """CooRTweet ``generate_coordinated_network`` edge table (l.153-198), one row per pair."""
    x = groups.with_columns(
        pl.min_horizontal("account_id", "account_id_y").alias("account_id"),
        pl.max_horizontal("account_id", "account_id_y").alias("account_id_y"),
    )
    n_cid, n_cidy = pl.col("content_id").n_unique(), pl.col("content_id_y").n_unique()
    return x.group_by("account_id", "account_id_y").agg(
        pl.len().alias("weight"),
        pl.col("time_delta").mean().alias("avg_time_delta"),
        n_cid.alias("n_content_id"),
        n_cidy.alias("n_content_id_y"),
        (pl.min_horizontal(n_cid, n_cidy) / pl.max_horizontal(n_cid, n_cidy)).alias(
            "edge_symmetry_score"
        ),
        pl.col("object_id").n_unique().alias("n_objects"),
    )


def qut_co_link(
    x: pl.DataFrame, time_window: float, min_edge_weight: int = 2, threads: int = 2
) -> pl.DataFrame:
    """QUT toolkit co-link network (undirected pairs, loops dropped): ``user_1``, ``user_2``."""
    from coordination_network_toolkit.compute_networks import compute_co_link_network
    from coordination_network_toolkit.graph import get_edge_rows
    from coordination_network_toolkit.preprocess import preprocess_data

    posts = x.group_by("content_id", maintain_order=True).agg(
        pl.col("account_id").first(),
        pl.col("timestamp_share").first(),
        pl.col("object_id").unique(),
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "qut.db")
        preprocess_data(
            db,
            ((cid, acc, acc, None, None, "", ts, urls) for cid, acc, ts, urls in posts.iter_rows()),
        )
        compute_co_link_network(db, time_window, n_threads=threads, min_edge_weight=min_edge_weight)
        rows = list(get_edge_rows(db, "co_link"))
    edges = pl.DataFrame(
        [(r[0], r[1], r[2]) for r in rows],
        schema={"user_1": pl.Utf8, "user_2": pl.Utf8, "weight": pl.Int64},
        orient="row",
    )
    return edges.select(
        pl.min_horizontal("user_1", "user_2").alias("user_1"),
        pl.max_horizontal("user_1", "user_2").alias("user_2"),
    ).unique()
