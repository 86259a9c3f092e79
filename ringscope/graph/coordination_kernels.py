"""The steps of coordination evidence that see one group at a time, written once.

Each function takes whole groups of one key and returns rows that depend on those groups
alone: every use of an item (:func:`item_table`, :func:`item_co_shares`), every use by an
actor in a layer (:func:`actor_mass`), every item a pair co-shared (:func:`pair_summary`).
The local engine calls each once on a whole layer; the Spark engine shuffles by the key
and calls the same function on every partition. Both engines therefore compute the same
rows by construction, and every float sum adds its terms sorted, so no result depends on
how the groups were split.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ringscope.config import CoordinationConfig, LayerConfig
from ringscope.graph.coordination_formulas import collapse_step, item_weight

__all__ = [
    "OCC_SCHEMA",
    "actor_mass",
    "dedupe_occurrences",
    "distinct_uses",
    "item_co_shares",
    "item_table",
    "pair_summary",
    "window_pairs",
]

#: One use of an item: the rows every layer's occurrences come in.
OCC_SCHEMA: dict[str, pl.DataType] = {"actor": pl.UInt32, "item": pl.UInt32, "ts": pl.Int64}
_SHIFT = 1 << 32  # packs two u32 values into one u64 key


def distinct_uses(occ: pl.DataFrame) -> pl.DataFrame:
    """Distinct (actor, item) pairs, de-duplicated on one packed u64 key."""
    key = (pl.col("item").cast(pl.UInt64) * _SHIFT + pl.col("actor")).alias("ia")
    uses = occ.select(key).unique()
    return uses.select(
        (pl.col("ia") % _SHIFT).cast(pl.UInt32).alias("actor"),
        (pl.col("ia") // _SHIFT).cast(pl.UInt32).alias("item"),
    )


def item_table(
    occ: pl.DataFrame, layer: LayerConfig, n_actors: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Whole items' ``(uses, items)``: per distinct (actor, item) use its item's ``df`` and
    ``w`` (and, in a layer that repeats by occasions, the use's ``occasions``); per item its
    distinct-actor count ``df`` and weight ``w`` (idf times hub damping)."""
    uses = distinct_uses(occ)
    items = uses.group_by("item").agg(pl.len().alias("df"))
    items = items.with_columns(item_weight(pl.col("df"), layer.hub_actors, n_actors).alias("w"))
    weighted = uses.join(items, on="item")
    if layer.repeat_by == "occasions":
        occasions = (
            dedupe_occurrences(occ, layer.window_ms)
            .group_by("actor", "item")
            .agg(pl.len().alias("occasions"))
        )
        weighted = weighted.join(occasions, on=["actor", "item"])
    return weighted, items


def actor_mass(uses: pl.DataFrame, layer: LayerConfig, extra: pl.DataFrame | None) -> pl.DataFrame:
    """Whole actors' layer ``mass`` (the weight of every distinct item used, plus ``extra``
    where given: unshared content) and activity ``n_items`` (distinct items, or occasions
    in a layer that repeats by them), from :func:`item_table`'s uses."""
    activity = pl.col("occasions").sum() if layer.repeat_by == "occasions" else pl.len()
    mass = uses.group_by("actor").agg(
        pl.col("w").sort().sum().alias("mass"), activity.cast(pl.Int64).alias("n_items")
    )
    if extra is None:
        return mass
    return mass.join(extra, on="actor", how="left").select(
        "actor", (pl.col("mass") + pl.col("extra").fill_null(0.0)).alias("mass"), "n_items"
    )


def dedupe_occurrences(occ: pl.DataFrame, window_ms: int) -> pl.DataFrame:
    """Keep one occurrence per (actor, item, half window), sorted by item then time.

    A burst of repeats by one actor must not use up the partner slots of the window; with
    ``window_ms == 0`` (any time) one occurrence per (actor, item) remains.
    """
    step = collapse_step(window_ms)
    slot = pl.col("ts") // step if step else pl.lit(0, dtype=pl.Int64)
    key = pl.col("item").cast(pl.UInt64) * _SHIFT + pl.col("actor")
    return (
        occ.with_columns(key.alias("ia"), slot.alias("slot"))
        .sort("ia", "slot", "ts")
        .filter(
            (pl.col("ia") != pl.col("ia").shift(1)).fill_null(True)
            | (pl.col("slot") != pl.col("slot").shift(1)).fill_null(True)
        )
        .select("actor", "item", "ts")
        .sort("item", "ts", "actor")
    )


def item_co_shares(
    occ: pl.DataFrame, items: pl.DataFrame, layer: LayerConfig, cfg: CoordinationConfig
) -> pl.DataFrame:
    """Whole items' distinct (a, b, item) co-occurrences within the layer window: the item's
    ``w``, the span (``first_ts``, ``last_ts``) and every windowed co-use's time gap
    (``gaps``).

    Only items with weight ≥ ``min_item_weight`` are paired (lighter ones could not lift
    a pair over the pruning threshold): with hub damping this bounds a paired item's
    actor count by ``hub_actors / min_item_weight``.
    """
    pairable = items.filter(
        (pl.col("df") >= 2)
        & (pl.col("df") <= cfg.max_item_actors)
        & (pl.col("w") >= cfg.min_item_weight)
    )
    occ = dedupe_occurrences(occ.join(pairable.select("item"), on="item"), layer.window_ms)
    pairs = window_pairs(occ, layer.window_ms, cfg.max_partners)
    packed = pl.col("a").cast(pl.UInt64) * _SHIFT + pl.col("b")
    triples = pairs.group_by(packed.alias("ab"), "item").agg(
        pl.col("t1").min().alias("first_ts"),
        pl.col("t2").max().alias("last_ts"),
        (pl.col("t2") - pl.col("t1")).alias("gaps"),
    )
    return triples.join(pairable.select("item", "w"), on="item").select(
        (pl.col("ab") // _SHIFT).cast(pl.UInt32).alias("a"),
        (pl.col("ab") % _SHIFT).cast(pl.UInt32).alias("b"),
        "item",
        "w",
        "first_ts",
        "last_ts",
        "gaps",
    )


def pair_summary(triples: pl.DataFrame, layer: LayerConfig, *, top: int) -> pl.DataFrame:
    """Whole pairs' evidence in a layer from :func:`item_co_shares` rows with each item's
    display ``key``: the ``shared`` item mass, ``n_items``, the span, the ``top`` strongest
    items (heaviest first, ties by key), the ``co_shares`` with their median and max time
    gap, and ``kept``: whether the pair repeats as often as the layer asks."""
    gaps = pl.col("gaps").explode()
    summary = (
        triples.sort("w", "key", descending=[True, False])
        .group_by("a", "b")
        .agg(
            pl.col("w").sort().sum().alias("shared"),
            pl.len().cast(pl.Int64).alias("n_items"),
            pl.col("first_ts").min(),
            pl.col("last_ts").max(),
            pl.col("key").head(top).alias("items"),
            gaps.len().cast(pl.Int64).alias("co_shares"),
            gaps.median().cast(pl.Float64).alias("median_gap_ms"),
            gaps.max().alias("max_gap_ms"),
        )
    )
    repeats = "co_shares" if layer.repeat_by == "occasions" else "n_items"
    return summary.with_columns((pl.col(repeats) >= layer.min_participation).alias("kept"))


def window_pairs(occ: pl.DataFrame, window_ms: int, max_partners: int) -> pl.DataFrame:
    """Each occurrence paired with the next ``max_partners`` uses of its item within the window.

    ``occ`` is sorted by (item, ts, actor): uses at the same time are taken in actor order.
    A group of k co-occurring actors with k <= max_partners + 1 becomes a clique; a bigger
    burst becomes a band in time order (every actor linked to its ``max_partners``
    successors), O(k) pairs and connected.
    """
    item = occ["item"].to_numpy().astype(np.int64)
    ts = occ["ts"].to_numpy()
    actor = occ["actor"].to_numpy()
    n = len(item)
    if n < 2:
        return _empty_pairs()
    count = _partner_counts(item, ts, window_ms, max_partners)
    total = int(count.sum())
    if total == 0:
        return _empty_pairs()
    idx = np.arange(n)
    left = np.repeat(idx, count)
    starts = np.repeat(np.cumsum(count) - count, count)
    right = left + (np.arange(total) - starts) + 1
    a, b = actor[left], actor[right]
    keep = a != b
    a, b, left, right = a[keep], b[keep], left[keep], right[keep]
    return pl.DataFrame(
        {
            "a": np.minimum(a, b),
            "b": np.maximum(a, b),
            "item": item[left].astype(np.uint32),
            "t1": ts[left],
            "t2": ts[right],
        }
    )


#: Bound of the packed (item, time) key of :func:`_partner_counts`; beyond it, the
#: overflow-free scan (a module constant so tests can lower it).
_KEY_LIMIT = (1 << 63) - 1


def _partner_counts(
    item: np.ndarray, ts: np.ndarray, window_ms: int, max_partners: int
) -> np.ndarray:
    """Per occurrence (sorted by item, ts): how many of the next ``max_partners`` rows are
    uses of the same item within the window.

    Items are numbered densely and packed with the time into one int64 key, so one binary
    search finds each window's end. When the key would not fit (millions of items and
    times spanning decades: a stray record dated 1970 beside current ones), a scan over
    the next ``max_partners`` rows gives the same counts without packing.
    """
    n = len(item)
    rel = ts - ts.min()
    span = int(rel.max()) + max(window_ms, 0) + 1
    rank = np.concatenate([[0], np.cumsum(item[1:] != item[:-1])])
    if (int(rank[-1]) + 2) * span <= _KEY_LIMIT:  # every key and limit below fits
        key = rank * span + rel
        horizon = window_ms if window_ms > 0 else span - 1
        limit = np.minimum(key - rel + span - 1, key + horizon)  # stay inside the item
        end = np.searchsorted(key, limit, side="right")
        return np.minimum(end - np.arange(n) - 1, max_partners)
    count = np.zeros(n, dtype=np.int64)
    alive = np.ones(n, dtype=bool)
    for k in range(1, min(max_partners, n - 1) + 1):
        ok = item[k:] == item[:-k]
        if window_ms > 0:
            ok &= ts[k:] - ts[:-k] <= window_ms
        alive[:-k] &= ok
        alive[n - k :] = False
        count += alive
        if not alive.any():
            break
    return count


def _empty_pairs() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"a": pl.UInt32, "b": pl.UInt32, "item": pl.UInt32, "t1": pl.Int64, "t2": pl.Int64}
    )
