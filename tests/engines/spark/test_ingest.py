"""Ingest on the Spark executors gives what the local ingest gives, record for record."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ringscope.engines.spark.frames import WorkDir
from ringscope.engines.spark.ingest import spark_ingest
from ringscope.errors import RejectRateExceeded
from ringscope.ingest import IngestResult, ingest
from ringscope.ingest.content_terms import ContentVectors
from ringscope.worlds import WorldConfig, generate_world, write_world
from tests.ingest.test_ingest import BAD_LINES, KEYRING, sample_events, write_csv, write_parquet

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A generated world (gzip JSONL), a plain JSONL file with a byte-order mark, CRLF
    line ends, blank and malformed lines and repeats of the world's event ids (it sorts
    first, so its copies win), and a CSV and a Parquet file repeating each other's ids."""
    base = tmp_path_factory.mktemp("spark-ingest")
    paths = write_world(generate_world(WorldConfig(n_legit=200), seed=5), base / "world")
    world = [p for p in paths if p.name.startswith("events")]
    repeats = gzip.decompress(world[0].read_bytes()).splitlines()[:40]
    first = b'{"ts": 1709294400, "actor_id": "u0", "event_type": "login", "extra_field": 1}'
    lines = [first, *(line for line, _ in BAD_LINES), *repeats, b"", *repeats[:5], b"  "]
    mixed = base / "mixed.jsonl"
    mixed.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines * 3) + b"\r\n")
    table = base / "table.csv"
    write_csv(table, sample_events())
    with table.open("ab") as out:
        out.write(b"2024-03-01T12:00:00Z,only,two\n")
    typed = write_parquet(base / "typed.parquet", sample_events(), joined_lists=False)
    return [*world, mixed, table, typed]


@pytest.fixture
def small_splits(spark) -> Iterator[None]:
    """Spark splits of 2 KB, so a plain file is read by many tasks, one split each."""
    key = "spark.sql.files.maxPartitionBytes"
    before = spark.conf.get(key)
    spark.conf.set(key, "2048")
    yield
    spark.conf.set(key, before)


def _sorted_rows(content: ContentVectors) -> tuple[list[str], np.ndarray, np.ndarray]:
    order = np.argsort(content.keys.to_numpy())
    return (
        content.keys.to_numpy()[order].tolist(),
        content.words[order].toarray(),
        content.pairs[order].toarray(),
    )


def _assert_same(local: IngestResult, spark: IngestResult) -> None:
    assert spark.events.equals(local.events)
    assert spark.rejects.drop("raw").equals(local.rejects.drop("raw"))
    unseal = [KEYRING.unseal(token) for token in spark.rejects["raw"]]
    assert unseal == [KEYRING.unseal(token) for token in local.rejects["raw"]]
    assert spark.inputs == local.inputs
    assert spark.duplicates == local.duplicates
    assert spark.fields_given == local.fields_given
    assert local.names is not None and spark.names is not None
    assert spark.names.sort("name_key").equals(local.names.sort("name_key"))
    assert local.content is not None and spark.content is not None
    assert (spark.content.vocab != local.content.vocab).nnz == 0
    for mine, theirs in zip(_sorted_rows(spark.content), _sorted_rows(local.content), strict=True):
        assert np.array_equal(mine, theirs)


def test_executors_ingest_what_the_local_ingest_does(spark, inputs, small_splits, tmp_path):
    local = ingest(inputs, keyring=KEYRING, max_reject_rate=1.0)
    assert local.duplicates > 40 and local.rejects.height > 10
    assert "extra_field" in local.fields_given
    got = spark_ingest(
        spark, inputs, keyring=KEYRING, work=WorkDir(tmp_path), max_reject_rate=1.0, block_bytes=700
    )
    mixed = next(s for s in got.inputs if s.path.endswith("mixed.jsonl"))
    assert mixed.rejected > 0 and mixed.duplicates > 0
    _assert_same(local, got)
    # rejects of later splits are at their line in the file
    assert got.rejects.filter(pl.col("source").str.ends_with("mixed.jsonl"))["position"].max() > 100


def test_too_many_rejects_raise_with_the_result_attached(spark, inputs, tmp_path):
    with pytest.raises(RejectRateExceeded) as local:
        ingest(inputs, keyring=KEYRING, max_reject_rate=0.0)
    with pytest.raises(RejectRateExceeded) as raised:
        spark_ingest(spark, inputs, keyring=KEYRING, work=WorkDir(tmp_path), max_reject_rate=0.0)
    assert str(raised.value) == str(local.value)
    _assert_same(local.value.result, raised.value.result)  # type: ignore[attr-defined]
