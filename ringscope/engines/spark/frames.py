"""Moving tables between the driver (polars) and Spark through Parquet files.

Parquet in a work directory keeps large tables out of the driver's Python heap and the
py4j channel in both directions; unsigned columns are widened to signed ones on the way
in (Spark has no unsigned types) and cast back to the local engine's types on the way out.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["WorkDir"]

_WIDER = {pl.UInt32: pl.Int64, pl.UInt64: pl.Int64, pl.UInt16: pl.Int32, pl.UInt8: pl.Int16}


class WorkDir:
    """A scratch directory for Parquet hand-offs; every table gets a fresh file name."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._names = itertools.count()

    def _path(self, name: str) -> Path:
        return self.root / f"{next(self._names):04d}-{name}.parquet"

    def to_spark(self, spark: SparkSession, frame: pl.DataFrame, name: str) -> DataFrame:
        """A Spark DataFrame with the rows of a polars frame (unsigned ints widened)."""
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.with_columns(
            pl.col(c).cast(_WIDER[t]) for c, t in frame.schema.items() if t in _WIDER
        ).write_parquet(path)
        return spark.read.parquet(str(path))

    def write(self, frame: DataFrame, name: str) -> Path:
        """Write a Spark DataFrame out as Parquet (the executors write); its folder, whose
        part files in name order hold the rows in the frame's order."""
        path = self._path(name)
        frame.write.mode("overwrite").parquet(str(path))
        return path

    def persist(self, frame: DataFrame, name: str) -> DataFrame:
        """Write a Spark DataFrame out and read it back: later reads skip its lineage."""
        return frame.sparkSession.read.parquet(str(self.write(frame, name)))

    def to_polars(
        self, frame: DataFrame, name: str, schema: dict[str, pl.DataType]
    ) -> pl.DataFrame:
        """The rows of a Spark DataFrame on the driver, cast to the given column types."""
        parts = sorted(self.write(frame, name).glob("*.parquet"))
        if not parts:
            return pl.DataFrame(schema=schema)
        out = pl.concat([pl.read_parquet(p) for p in parts], how="vertical_relaxed")
        return out.select(pl.col(c).cast(t) for c, t in schema.items())
