"""One Spark session for the whole test run, and one small world run by both engines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ringscope.config import RunConfig, SparkConfig
from ringscope.graph.coordination import CoordinationEvidence, build_evidence
from ringscope.graph.hetero import build_hetero_graph
from ringscope.ingest import ingest
from ringscope.pipeline import run_pipeline
from ringscope.privacy import load_keyring
from ringscope.worlds import WorldConfig, generate_world, write_world


@pytest.fixture(scope="session")
def spark() -> Iterator:
    """The suite's only Spark session (two local cores, few shuffle partitions).

    Engines find it as the active session and reuse it instead of starting their own.
    """
    from ringscope.engines.spark.session import spark_session

    session = spark_session(
        SparkConfig(master="local[2]", shuffle_partitions=2, driver_memory="1g")
    )
    yield session
    session.stop()


@dataclass(frozen=True)
class EngineRuns:
    """The same world through both engines, plus the local engine's actor-index evidence."""

    events: list[Path]
    local: Path
    spark: Path
    evidence: CoordinationEvidence
    n_actors: int


@pytest.fixture(scope="session")
def engine_runs(spark, tmp_path_factory: pytest.TempPathFactory) -> EngineRuns:
    """Publish one snapshot per engine from a 300-account world (embeddings off)."""
    base = tmp_path_factory.mktemp("engines")
    paths = write_world(generate_world(WorldConfig(n_legit=300), seed=3), base / "world")
    events = [p for p in paths if p.name.startswith("events")]
    keyring = load_keyring(allow_demo=True)
    config = RunConfig()
    local = run_pipeline(events, base / "local", config=config, keyring=keyring)
    on_spark = run_pipeline(
        events, base / "spark", config=config.with_overrides({"engine": "spark"}), keyring=keyring
    )
    graph = build_hetero_graph(ingest(events, keyring=keyring, max_reject_rate=0.05).events)
    return EngineRuns(
        events=events,
        local=local,
        spark=on_spark,
        evidence=build_evidence(graph, config.coordination),
        n_actors=graph.num_nodes("actor"),
    )
