"""The Spark session of the Spark engine: master, GraphFrames and clear errors.

GraphFrames comes either from a local JAR (``spark.jars``, plus ``addPyFile`` because the
JAR also carries the ``graphframes`` Python package) or from Maven coordinates
(``spark.jars.packages``). Java and the JAR are checked before Spark starts, so a missing
piece is one error line naming the fix rather than a JVM stack trace.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ringscope.config import SparkConfig
from ringscope.engines.spark.jars import MAVEN_PACKAGE, default_jar
from ringscope.errors import RingscopeError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["SparkUnavailable", "graphframes_jar", "java_executable", "spark_session"]


class SparkUnavailable(RingscopeError):
    """The Spark engine cannot start: pyspark, Java or the GraphFrames JAR is missing."""


def java_executable() -> str:
    """The ``java`` Spark will launch (``$JAVA_HOME/bin/java`` first, then ``PATH``)."""
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home) / "bin" / "java" if home else None
    if candidate is not None and candidate.is_file():
        return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise SparkUnavailable(
            "the Spark engine needs Java 17: install a JDK (e.g. apt-get install "
            "openjdk-17-jre-headless) or set JAVA_HOME"
        )
    return found


def graphframes_jar(cfg: SparkConfig) -> Path | None:
    """The local GraphFrames JAR to ship, or None when Maven coordinates are configured."""
    if cfg.graphframes_package and not cfg.graphframes_jar:
        return None
    jar = Path(cfg.graphframes_jar) if cfg.graphframes_jar else default_jar()
    if not jar.is_file():
        raise SparkUnavailable(
            f"GraphFrames JAR not found at {jar}: run `make install` (or `python -m "
            f"ringscope.engines.spark.jars`), set spark.graphframes_jar to a JAR, or set "
            f"spark.graphframes_package = {MAVEN_PACKAGE!r} if this machine can reach Maven"
        )
    return jar


def spark_session(cfg: SparkConfig) -> SparkSession:
    """A Spark session with GraphFrames loaded, or the active one if a session exists.

    An active session (a test suite's shared session, a notebook's, ``spark-submit``'s)
    is reused as is: Spark fixes its master and JARs when the JVM starts. ``cfg.conf``
    comes last, so a property given there wins over ringscope's defaults.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(
            "the Spark engine needs pyspark: pip install 'ringscope[spark]'"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    java_executable()
    jar = graphframes_jar(cfg)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName("ringscope")
        .master(cfg.master)
        .config("spark.sql.shuffle.partitions", str(cfg.shuffle_partitions))
        .config("spark.driver.memory", cfg.driver_memory)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if jar is not None:
        builder = builder.config("spark.jars", str(jar))
    else:
        builder = builder.config("spark.jars.packages", cfg.graphframes_package)
    for key, value in cfg.conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    if jar is not None:
        session.sparkContext.addPyFile(str(jar))
    return session
