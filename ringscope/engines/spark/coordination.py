"""Actor–actor coordination evidence on Spark, with the local engine's own kernels.

Spark does the shuffles; the per-group steps are the local engine's functions
(:mod:`ringscope.graph.coordination_kernels`), called on each partition through
``mapInArrow``, so the two engines compute the same rows by construction:

* occurrences are shuffled by (layer, item); each partition, holding whole items, gives
  its distinct uses with the items' weights (:func:`item_table`) and its windowed
  co-shares per (a, b, item) with their time gaps (:func:`item_co_shares`);
* uses are shuffled by (layer, actor) for each actor's mass and activity
  (:func:`actor_mass`); co-shares, with their items' display keys joined in, by
  (layer, a, b) for each pair's summary (:func:`pair_summary`);
* Spark sums the chance model's per-layer totals and joins each kept pair with its two
  sides' masses; the similarity, chance model and edge pruning run on the driver in
  :func:`~ringscope.graph.coordination_formulas.finish_evidence`, as for the local engine.

Executors run ringscope's Python code, so they need the driver's Python environment
(ringscope, polars, numpy, pyarrow). Typed-graph tables come from the driver
(:class:`HeteroGraph`); the ledger and edges come back as the local engine's
:class:`CoordinationEvidence`, so later steps do not care which engine made them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

import polars as pl

from ringscope.config import CoordinationConfig, LayerConfig
from ringscope.engines.spark.frames import WorkDir
from ringscope.graph.coordination import (
    CO_SHARE_SCHEMA,
    CoordinationEvidence,
    layer_occurrences,
    repeats_by_items,
)
from ringscope.graph.coordination_formulas import (
    EDGE_SCHEMA,
    EVIDENCE_SCHEMA,
    LAYER_ITEM_TYPES,
    PAIR_SCHEMA,
    finish_evidence,
    unshared_content_mass,
)
from ringscope.graph.coordination_kernels import (
    OCC_SCHEMA,
    actor_mass,
    item_co_shares,
    item_table,
    pair_summary,
)
from ringscope.graph.hetero import HeteroGraph

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["build_evidence_spark"]

#: What a (layer, item) partition gives: an item (``a`` and ``b`` null: ``df``, ``w``),
#: a use (``b`` null: ``a`` is the actor, with ``w`` and ``occasions``) or a co-shared
#: item of the pair (a, b) (``w``, the span and the gaps).
_BY_ITEM = (
    "layer string, a long, b long, item long, w double, df long, occasions long, "
    "first_ts long, last_ts long, gaps array<long>"
)
_MASS = "layer string, actor long, mass double, n_items long"
_PAIRS = (
    "layer string, a long, b long, shared double, n_items long, first_ts long, last_ts long, "
    "items array<string>, co_shares long, median_gap_ms double, max_gap_ms long, kept boolean"
)

Kernel = Callable[[str, pl.DataFrame], pl.DataFrame]


def _per_layer(kernel: Kernel, schema: str) -> Callable[[Iterator[pa.RecordBatch]], Iterator]:
    """A ``mapInArrow`` function: the partition as one polars frame, ``kernel`` on each
    layer's rows, the results in the Spark schema's Arrow types."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import _parse_datatype_string

    arrow = to_arrow_schema(_parse_datatype_string(schema))

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        received = list(batches)
        if not received:
            return
        frame = pl.from_arrow(pa.Table.from_batches(received))
        for (name,), rows in frame.partition_by("layer", as_dict=True).items():
            out = kernel(name, rows.drop("layer"))
            if out.height:
                table = out.with_columns(pl.lit(name).alias("layer")).to_arrow()
                yield from table.select(arrow.names).cast(arrow).to_batches()

    return run


def _by_item(
    name: str, occ: pl.DataFrame, *, cfg: CoordinationConfig, n_actors: int
) -> pl.DataFrame:
    """One layer's whole items: the items, their uses, then their windowed co-shares."""
    layer = cfg.layers[name]
    occ = occ.select(pl.col(c).cast(t) for c, t in OCC_SCHEMA.items())
    uses, items = item_table(occ, layer, n_actors)
    if "occasions" not in uses.columns:
        uses = uses.with_columns(pl.lit(None, dtype=pl.Int64).alias("occasions"))
    triples = item_co_shares(occ, items, layer, cfg)
    return pl.concat(
        [items, uses.drop("df").rename({"actor": "a"}), triples], how="diagonal_relaxed"
    )


def _by_actor(
    name: str, uses: pl.DataFrame, *, layers: dict[str, LayerConfig], extra: pl.DataFrame
) -> pl.DataFrame:
    """One layer's whole actors: mass and activity."""
    uses = uses.with_columns(pl.col("actor").cast(pl.UInt32))
    return actor_mass(uses, layers[name], extra if name == "content" else None)


def _by_pair(name: str, triples: pl.DataFrame, *, cfg: CoordinationConfig) -> pl.DataFrame:
    """One layer's whole pairs: their summaries."""
    return pair_summary(triples, cfg.layers[name], top=cfg.evidence_items)


def _driver_tables(
    hg: HeteroGraph, layers: dict[str, LayerConfig]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """The occurrences of every active layer, the display keys of their items' node
    types, the node type of each layer, and each layer's occurrence count."""
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
    ktypes = pl.DataFrame({"layer": list(layers), "ktype": [LAYER_ITEM_TYPES[n] for n in layers]})
    return occ, keys, ktypes, {name: occurrences[name].height for name in layers}


def build_evidence_spark(
    spark: SparkSession, hg: HeteroGraph, cfg: CoordinationConfig, work: WorkDir
) -> CoordinationEvidence:
    """Weighted actor–actor edges and the per-layer ledger, computed on Spark."""
    from pyspark.sql import functions as F

    layers = {name: layer for name, layer in cfg.layers.items() if layer.weight > 0}
    if not layers:
        return CoordinationEvidence(
            edges=pl.DataFrame(schema=EDGE_SCHEMA),
            evidence=pl.DataFrame(schema=EVIDENCE_SCHEMA),
            stats={},
            co_shares=pl.DataFrame(schema=CO_SHARE_SCHEMA),
        )
    n_actors = int(hg.nodes["actor"]["actor_id"].is_not_null().sum())
    occ, keys, ktypes, n_occurrences = _driver_tables(hg, layers)
    by_item = work.persist(
        work.to_spark(spark, occ, "occ")
        .repartition("layer", "item")
        .mapInArrow(_per_layer(partial(_by_item, cfg=cfg, n_actors=n_actors), _BY_ITEM), _BY_ITEM),
        "by-item",
    )
    uses = by_item.filter(F.col("a").isNotNull() & F.col("b").isNull())
    extra = unshared_content_mass(hg, n_actors)
    mass = work.persist(
        uses.select("layer", F.col("a").alias("actor"), "w", "occasions")
        .repartition("layer", "actor")
        .mapInArrow(_per_layer(partial(_by_actor, layers=layers, extra=extra), _MASS), _MASS),
        "mass",
    )
    triples = (
        by_item.filter(F.col("b").isNotNull())
        .join(F.broadcast(work.to_spark(spark, ktypes, "ktypes")), on="layer")
        .join(work.to_spark(spark, keys, "keys"), on=["ktype", "item"])
    )
    pairs = work.persist(
        triples.select("layer", "a", "b", "item", "w", "first_ts", "last_ts", "gaps", "key")
        .repartition("layer", "a", "b")
        .mapInArrow(_per_layer(partial(_by_pair, cfg=cfg), _PAIRS), _PAIRS),
        "pairs",
    )
    totals = _totals(pairs, mass, layers)
    side = mass.select("layer", F.col("actor").alias("a"), "mass", "n_items")
    ledger = (
        pairs.filter("kept")
        .drop("kept")
        .join(side.withColumnsRenamed({"mass": "mass_src", "n_items": "d_src"}), on=["layer", "a"])
        .join(
            side.withColumnsRenamed({"a": "b", "mass": "mass_dst", "n_items": "d_dst"}),
            on=["layer", "b"],
        )
        .withColumnsRenamed({"a": "src", "b": "dst"})
        .select(*PAIR_SCHEMA)
    )
    rows = work.to_polars(ledger, "ledger", PAIR_SCHEMA)
    edges, evidence = finish_evidence(rows, totals, cfg)
    repeated = [name for name, layer in layers.items() if repeats_by_items(layer)]
    co_shares = by_item.filter(F.col("b").isNotNull() & F.col("layer").isin(repeated))
    return CoordinationEvidence(
        edges=edges,
        evidence=evidence,
        stats=_stats(by_item.filter(F.col("a").isNull()), rows, n_occurrences, cfg),
        co_shares=work.to_polars(co_shares.select(*CO_SHARE_SCHEMA), "co-shares", CO_SHARE_SCHEMA),
    )


def _totals(
    pairs: DataFrame, mass: DataFrame, layers: dict[str, LayerConfig]
) -> dict[str, tuple[int, int]]:
    """Per layer, the chance model's ``(C, M)``, as :func:`layer_totals` counts them."""
    from pyspark.sql import functions as F

    sums = pairs.groupBy("layer").agg(
        F.sum("n_items").alias("items"), F.sum("co_shares").alias("occasions")
    )
    co = {r["layer"]: r.asDict() for r in sums.collect()}
    uses = {
        r["layer"]: r["n"] for r in mass.groupBy("layer").agg(F.sum("n_items").alias("n")).collect()
    }
    return {
        name: (co.get(name, {}).get(layer.repeat_by, 0), uses.get(name, 0))
        for name, layer in layers.items()
    }


def _stats(
    items: DataFrame, rows: pl.DataFrame, occurrences: dict[str, int], cfg: CoordinationConfig
) -> dict[str, dict[str, int]]:
    """Per-layer counts for the manifest, as the local engine reports them."""
    from pyspark.sql import functions as F

    hub = F.when(F.col("df") > cfg.max_item_actors, 1).otherwise(0)
    counts = {
        r["layer"]: (r["items"], r["hubs"])
        for r in items.groupBy("layer")
        .agg(F.count("*").alias("items"), F.sum(hub).alias("hubs"))
        .collect()
    }
    pairs = dict(rows.group_by("layer").len().iter_rows())
    return {
        name: {
            "occurrences": n,
            "items": counts.get(name, (0, 0))[0],
            "hub_items_skipped": counts.get(name, (0, 0))[1],
            "pairs": pairs.get(name, 0),
        }
        for name, n in occurrences.items()
    }
