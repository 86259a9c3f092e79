"""The Spark engine: coordination evidence and communities on Spark with GraphFrames.

Importing this package does not import pyspark; sessions start on first use. See
:class:`SparkEngine` (selected with ``engine = "spark"`` or ``ringscope run --engine spark``).
"""

from ringscope.engines.spark.engine import SparkEngine
from ringscope.engines.spark.session import SparkUnavailable

__all__ = ["SparkEngine", "SparkUnavailable"]
