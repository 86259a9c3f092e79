"""Actor–actor coordination evidence on Spark, the same algorithm as the local engine.

This is :mod:`ringscope.graph.coordination` written as DataFrame operations, so it scales
out instead of collecting occurrences on the driver:

* the sliding window (each use paired with the next ``max_partners`` uses of its item
  within the layer window) is ``collect_list`` over a ``rowsBetween(1, max_partners)``
  window ordered by ``(ts, actor)``, the local engine's sort order, then filtered by time;
* repeats by one actor within half a window collapse to the earliest use of each
  ``(actor, item, slot)``, as the local engine keeps the first row of each slot;
* all layers run in one set of DataFrames keyed by ``layer`` (per-layer windows, hub
  bounds and weights join in from a small parameter table), so a run is a few Spark jobs
  rather than a few per layer;
* item weights come from the shared formula (:mod:`ringscope.graph.coordination_formulas`),
  evaluated on the driver for the few distinct (layer, document frequency) values, so
  weights are bit-identical; the similarity, chance model and edge pruning run there too,
  in :func:`~ringscope.graph.coordination_formulas.finish_evidence`, as for the local
  engine;
* every float sum adds its terms in ascending order (``array_sort`` then ``aggregate``),
  so results do not depend on partitioning. The local engine sums sorted terms with
  polars; the two agree to within 1e-12 (summation order inside polars' sum kernel may
  differ in the last bit), which the parity tests check.

Typed-graph tables come from the driver (:class:`HeteroGraph`); the ledger and edges come
back as the local engine's :class:`CoordinationEvidence`, so later steps do not care
which engine made them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from ringscope.config import CoordinationConfig, LayerConfig
from ringscope.engines.spark.frames import WorkDir
from ringscope.graph.coordination import CoordinationEvidence, layer_occurrences
from ringscope.graph.coordination_formulas import (
    EDGE_SCHEMA,
    EVIDENCE_SCHEMA,
    LAYER_ITEM_TYPES,
    PAIR_SCHEMA,
    collapse_step,
    finish_evidence,
    item_weight,
    unshared_content_mass,
)
from ringscope.graph.hetero import HeteroGraph

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

__all__ = ["build_evidence_spark"]


def _ordered_sum(column: str) -> Column:
    """Sum of a group's values added in ascending order (independent of partitioning)."""
    from pyspark.sql import functions as F

    return F.aggregate(F.array_sort(F.collect_list(column)), F.lit(0.0), lambda acc, x: acc + x)


def _active_layers(cfg: CoordinationConfig) -> dict[str, LayerConfig]:
    return {name: layer for name, layer in cfg.layers.items() if layer.weight > 0}


def _driver_tables(
    hg: HeteroGraph, layers: dict[str, LayerConfig], n_actors: int
) -> dict[str, pl.DataFrame]:
    """The inputs the driver contributes: occurrences, item keys, layer parameters."""
    occurrences = layer_occurrences(hg)
    occ = pl.concat(
        [occurrences[name].with_columns(pl.lit(name).alias("layer")) for name in layers]
    )
    node_types = sorted({LAYER_ITEM_TYPES[name] for name in layers})
    keys = pl.concat(
        [
            hg.nodes[t].select(pl.lit(t).alias("ktype"), pl.col("idx").alias("item"), "key")
            for t in node_types
        ]
    )
    params = pl.DataFrame(
        {
            "layer": list(layers),
            "ktype": [LAYER_ITEM_TYPES[name] for name in layers],
            "window_ms": [layer.window_ms for layer in layers.values()],
            "step": [collapse_step(layer.window_ms) for layer in layers.values()],
            "lweight": [layer.weight for layer in layers.values()],
            "min_items": [layer.min_participation for layer in layers.values()],
            "occasions": [layer.repeat_by == "occasions" for layer in layers.values()],
        },
        schema_overrides={
            "window_ms": pl.Int64,
            "step": pl.Int64,
            "lweight": pl.Float64,
            "min_items": pl.Int64,
        },
    )
    extra = unshared_content_mass(hg, n_actors).select(
        pl.lit("content").alias("layer"), "actor", "extra"
    )
    return {"occ": occ, "keys": keys, "params": params, "extra": extra}


def _item_weights(
    spark: SparkSession,
    uses: DataFrame,
    layers: dict[str, LayerConfig],
    n_actors: int,
    work: WorkDir,
) -> DataFrame:
    """Per (layer, item): ``df`` (distinct actors) and ``w`` (:func:`item_weight`, on the
    driver for each distinct df value)."""
    from pyspark.sql import functions as F

    counts = work.persist(uses.groupBy("layer", "item").agg(F.count("*").alias("df")), "df")
    seen = counts.select("layer", "df").distinct().collect()
    hub = pl.DataFrame(
        {"layer": list(layers), "hub": [layer.hub_actors for layer in layers.values()]}
    )
    table = (
        pl.DataFrame(
            [(r["layer"], r["df"]) for r in seen],
            schema={"layer": pl.Utf8, "df": pl.Int64},
            orient="row",
        )
        .join(hub, on="layer")
        .with_columns(item_weight(pl.col("df"), pl.col("hub"), n_actors).alias("w"))
        .sort("layer", "df")
    )
    weights = spark.createDataFrame(
        table.select("layer", "df", "w").rows(), "layer string, df long, w double"
    )
    return counts.join(F.broadcast(weights), on=["layer", "df"])


def _dedupe(occ: DataFrame) -> DataFrame:
    """One occurrence per (layer, actor, item, half window): the earliest."""
    from pyspark.sql import functions as F

    slot = F.expr("CASE WHEN step > 0 THEN (ts - pmod(ts, step)) div step ELSE 0 END")
    return occ.groupBy("layer", "actor", "item", slot.alias("slot"), "window_ms").agg(
        F.min("ts").alias("ts")
    )


def _window_pairs(occ: DataFrame, max_partners: int) -> DataFrame:
    """Each use with the next ``max_partners`` uses of its item inside the layer window."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    after = Window.partitionBy("layer", "item").orderBy("ts", "actor").rowsBetween(1, max_partners)
    nxt = occ.select(
        "layer",
        "item",
        "actor",
        "ts",
        "window_ms",
        F.collect_list(F.struct("actor", "ts")).over(after).alias("nxt"),
    )
    pairs = nxt.select(
        "layer", "item", "actor", "ts", "window_ms", F.explode("nxt").alias("p")
    ).select(
        "layer",
        "item",
        "window_ms",
        F.col("actor").alias("u"),
        F.col("p.actor").alias("v"),
        F.col("ts").alias("t1"),
        F.col("p.ts").alias("t2"),
    )
    in_window = (F.col("window_ms") == 0) | (F.col("t2") - F.col("t1") <= F.col("window_ms"))
    return pairs.filter((F.col("u") != F.col("v")) & in_window).select(
        "layer", F.least("u", "v").alias("a"), F.greatest("u", "v").alias("b"), "item", "t1", "t2"
    )


def _layer_pairs(
    occ: DataFrame, items: DataFrame, cfg: CoordinationConfig
) -> tuple[DataFrame, DataFrame]:
    """Distinct (layer, a, b, item) co-occurrences within the window, with their span, and
    per (layer, a, b) the co-shares with their median (exact) and max time gap."""
    from pyspark.sql import functions as F

    pairable = items.filter(
        (F.col("df") >= 2)
        & (F.col("df") <= cfg.max_item_actors)
        & (F.col("w") >= cfg.min_item_weight)
    ).select("layer", "item")
    pairs = _window_pairs(_dedupe(occ.join(pairable, on=["layer", "item"])), cfg.max_partners)
    gap = F.col("t2") - F.col("t1")
    gaps = pairs.groupBy("layer", "a", "b").agg(
        F.count("*").alias("co_shares"),
        F.percentile(gap, F.lit(0.5)).alias("median_gap_ms"),
        F.max(gap).alias("max_gap_ms"),
    )
    triples = pairs.groupBy("layer", "a", "b", "item").agg(
        F.min("t1").alias("first_ts"), F.max("t2").alias("last_ts")
    )
    return triples, gaps


def _occasions(occ: DataFrame) -> DataFrame:
    """Per (layer, actor): its co-share occasions, one per (item, half window) used."""
    from pyspark.sql import functions as F

    return _dedupe(occ).groupBy("layer", "actor").agg(F.count("*").alias("n_occasions"))


def _activity(mass: DataFrame, occasions: DataFrame, params: DataFrame) -> DataFrame:
    """The mass table with ``n_items`` counted in occasions for layers that repeat by them."""
    from pyspark.sql import functions as F

    joined = mass.join(occasions, on=["layer", "actor"], how="left").join(
        F.broadcast(params.select("layer", "occasions")), on="layer"
    )
    n = F.when(F.col("occasions"), F.coalesce("n_occasions", F.lit(0))).otherwise(F.col("n_items"))
    return joined.select("layer", "actor", "mass", n.alias("n_items"))


def _layer_mass(uses: DataFrame, items: DataFrame, extra: DataFrame) -> DataFrame:
    """Per (layer, actor): the weight of every distinct item used (plus unshared content)."""
    from pyspark.sql import functions as F

    mass = (
        uses.join(items.select("layer", "item", "w"), on=["layer", "item"])
        .groupBy("layer", "actor")
        .agg(_ordered_sum("w").alias("mass"), F.count("*").alias("n_items"))
    )
    return mass.join(extra, on=["layer", "actor"], how="full").select(
        "layer",
        "actor",
        (F.coalesce("mass", F.lit(0.0)) + F.coalesce("extra", F.lit(0.0))).alias("mass"),
        F.coalesce("n_items", F.lit(0)).alias("n_items"),
    )


def _pair_evidence(
    pairs: DataFrame,
    gaps: DataFrame,
    items: DataFrame,
    mass: DataFrame,
    keys: DataFrame,
    params: DataFrame,
    *,
    top: int,
) -> DataFrame:
    """Per (layer, pair) in :data:`PAIR_SCHEMA`, pairs below the layer's repetition dropped."""
    from pyspark.sql import functions as F

    ranked = F.array_sort(F.collect_list(F.struct((-F.col("w")).alias("nw"), "key")))
    per_pair = (
        pairs.join(items.select("layer", "item", "w"), on=["layer", "item"])
        .join(F.broadcast(params.select("layer", "ktype", "min_items", "occasions")), on="layer")
        .join(keys, on=["ktype", "item"])
        .groupBy("layer", "a", "b", "min_items", "occasions")
        .agg(
            _ordered_sum("w").alias("shared"),
            F.count("*").alias("n_items"),
            F.min("first_ts").alias("first_ts"),
            F.max("last_ts").alias("last_ts"),
            F.slice(ranked, 1, top).getField("key").alias("items"),
        )
    )
    ma = mass.select(
        "layer",
        F.col("actor").alias("a"),
        F.col("mass").alias("ma"),
        F.col("n_items").alias("d_src"),
    )
    mb = mass.select(
        "layer",
        F.col("actor").alias("b"),
        F.col("mass").alias("mb"),
        F.col("n_items").alias("d_dst"),
    )
    repeats = F.when(F.col("occasions"), F.col("co_shares")).otherwise(F.col("n_items"))
    return (
        per_pair.join(gaps, on=["layer", "a", "b"])
        .filter(repeats >= F.col("min_items"))
        .join(ma, on=["layer", "a"])
        .join(mb, on=["layer", "b"])
        .select(
            F.col("a").alias("src"),
            F.col("b").alias("dst"),
            "layer",
            "shared",
            F.col("ma").alias("mass_src"),
            F.col("mb").alias("mass_dst"),
            "n_items",
            "first_ts",
            "last_ts",
            "items",
            "co_shares",
            "median_gap_ms",
            "max_gap_ms",
            "d_src",
            "d_dst",
        )
    )


def build_evidence_spark(
    spark: SparkSession, hg: HeteroGraph, cfg: CoordinationConfig, work: WorkDir
) -> CoordinationEvidence:
    """Weighted actor–actor edges and the per-layer ledger, computed on Spark."""
    from pyspark.sql import functions as F

    layers = _active_layers(cfg)
    if not layers:
        return CoordinationEvidence(
            edges=pl.DataFrame(schema=EDGE_SCHEMA),
            evidence=pl.DataFrame(schema=EVIDENCE_SCHEMA),
            stats={},
        )
    n_actors = hg.nodes["actor"]["actor_id"].is_not_null().sum()
    tables = {
        name: work.to_spark(spark, df, name)
        for name, df in _driver_tables(hg, layers, n_actors).items()
    }
    params = tables["params"]
    occ = tables["occ"].join(F.broadcast(params.select("layer", "window_ms", "step")), on="layer")
    uses = work.persist(occ.select("layer", "actor", "item").distinct(), "uses")
    items = work.persist(_item_weights(spark, uses, layers, n_actors, work), "items")
    triples, gaps = _layer_pairs(occ, items, cfg)
    triples = work.persist(triples, "triples")
    gaps = work.persist(gaps, "gaps")
    occasions = work.persist(_occasions(occ), "occasions")
    pairs = work.persist(
        _pair_evidence(
            triples,
            gaps,
            items,
            _activity(_layer_mass(uses, items, tables["extra"]), occasions, params),
            tables["keys"],
            params,
            top=cfg.evidence_items,
        ),
        "ledger",
    )
    co_items, n_uses = _per_layer(triples), _per_layer(uses)
    co_shares = {
        r["layer"]: r["n"]
        for r in gaps.groupBy("layer").agg(F.sum("co_shares").alias("n")).collect()
    }
    n_occasions = {
        r["layer"]: r["n"]
        for r in occasions.groupBy("layer").agg(F.sum("n_occasions").alias("n")).collect()
    }
    totals = {
        name: (co_shares.get(name, 0) or 0, n_occasions.get(name, 0) or 0)
        if layer.repeat_by == "occasions"
        else (co_items.get(name, 0), n_uses.get(name, 0))
        for name, layer in layers.items()
    }
    edges, evidence = finish_evidence(work.to_polars(pairs, "pairs", PAIR_SCHEMA), totals, cfg)
    return CoordinationEvidence(
        edges=edges,
        evidence=evidence,
        stats=_stats(tables["occ"], items, pairs, layers, cfg),
    )


def _per_layer(frame: DataFrame) -> dict[str, int]:
    """Row count per layer."""
    from pyspark.sql import functions as F

    return {
        r["layer"]: r["n"] for r in frame.groupBy("layer").agg(F.count("*").alias("n")).collect()
    }


def _stats(
    occ: DataFrame,
    items: DataFrame,
    evidence: DataFrame,
    layers: dict[str, LayerConfig],
    cfg: CoordinationConfig,
) -> dict[str, dict[str, int]]:
    """Per-layer counts for the manifest, as the local engine reports them."""
    from pyspark.sql import functions as F

    occurrences, n_items, pairs = _per_layer(occ), _per_layer(items), _per_layer(evidence)
    hubs = _per_layer(items.filter(F.col("df") > cfg.max_item_actors))
    return {
        name: {
            "occurrences": occurrences.get(name, 0),
            "items": n_items.get(name, 0),
            "hub_items_skipped": hubs.get(name, 0),
            "pairs": pairs.get(name, 0),
        }
        for name in layers
    }
