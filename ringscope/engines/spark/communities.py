"""Communities on GraphFrames: connected components and label propagation.

Both run on the Spark cluster over the reduced actor graph (actors with evidence only,
isolated actors are not clusters), then labels are made canonical as in
:func:`ringscope.graph.communities.detect_communities`: communities of at least
``min_size`` members, numbered by their smallest actor index, so equal partitions give
equal output whatever labels the algorithm used internally.

* Connected components (GraphFrames' ``connectedComponents`` with the GraphX algorithm:
  Pregel label spreading, one superstep per hop of the longest shortest path, no
  checkpoint directory needed; on a 60-node test graph on two cores it took 3 s against
  170 s for the big-star/small-star variant) give exactly the local ``components``
  partition.
* Label propagation (Raghavan, Albert & Kumara, Phys. Rev. E 2007, GraphX's
  implementation) is the scalable stand-in for Leiden when the actor graph is too large
  for the driver. It ignores edge weights and runs a fixed number of supersteps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from ringscope.engines.spark.frames import WorkDir

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["canonical_communities", "spark_components", "spark_label_propagation"]

_LABELS = {"actor": pl.UInt32, "label": pl.Int64}


def _graphframe(spark: SparkSession, edges: pl.DataFrame, work: WorkDir):
    from graphframes import GraphFrame

    e = work.to_spark(spark, edges.select("src", "dst"), "community_edges")
    ends = e.select("src").union(e.select("dst")).distinct().withColumnRenamed("src", "id")
    return GraphFrame(ends, e)


def canonical_communities(labels: pl.DataFrame, *, min_size: int) -> pl.DataFrame:
    """``actor``/``community``: groups of ``min_size``+ numbered by smallest member."""
    sizes = labels.group_by("label").agg(
        pl.len().alias("size"), pl.col("actor").min().alias("first")
    )
    keep = sizes.filter(pl.col("size") >= min_size).sort("first")
    keep = keep.with_row_index("community").select(pl.col("community").cast(pl.Int64), "label")
    return labels.join(keep, on="label").select("actor", "community").sort("actor")


def _labels(frame: DataFrame, column: str, work: WorkDir) -> pl.DataFrame:
    return work.to_polars(
        frame.select(frame["id"].alias("actor"), frame[column].alias("label")), column, _LABELS
    )


def spark_components(
    spark: SparkSession, edges: pl.DataFrame, work: WorkDir, *, min_size: int
) -> pl.DataFrame:
    """Connected components of the actor graph on GraphFrames."""
    if edges.is_empty():
        return canonical_communities(pl.DataFrame(schema=_LABELS), min_size=min_size)
    found = _graphframe(spark, edges, work).connectedComponents(algorithm="graphx")
    return canonical_communities(_labels(found, "component", work), min_size=min_size)


def spark_label_propagation(
    spark: SparkSession, edges: pl.DataFrame, work: WorkDir, *, iterations: int, min_size: int
) -> pl.DataFrame:
    """Label-propagation communities of the actor graph on GraphFrames."""
    if edges.is_empty():
        return canonical_communities(pl.DataFrame(schema=_LABELS), min_size=min_size)
    found = _graphframe(spark, edges, work).labelPropagation(maxIter=iterations)
    return canonical_communities(_labels(found, "label", work), min_size=min_size)
