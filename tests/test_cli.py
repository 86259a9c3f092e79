"""The ``ringscope`` command end to end on generated worlds: real files, real processes."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from ringscope.cli import main
from ringscope.snapshot import latest_snapshot, list_snapshots
from ringscope.worlds import WorldConfig, generate_world, write_world

SECRET = "test-secret-key-0123456789"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    write_world(generate_world(WorldConfig(n_legit=1500), seed=5), out)
    return out


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setenv("RINGSCOPE_SECRET_KEY", SECRET)


def _raw_identifiers(world: Path) -> dict[str, set[str]]:
    """Every email, IP, phone, display name and text of the input."""
    found: dict[str, set[str]] = {
        "email": set(),
        "ip": set(),
        "phone": set(),
        "display_name": set(),
        "text": set(),
    }
    with gzip.open(world / "events.jsonl.gz", "rt") as fh:
        for line in fh:
            rec = json.loads(line)
            for field, values in found.items():
                value = rec.get(field)
                if isinstance(value, str) and len(value) >= 6:
                    values.add(value)
    return found


def _snapshot_text(snap: Path) -> str:
    parts = []
    for path in sorted(snap.iterdir()):
        if path.suffix == ".parquet":
            parts.append(pl.read_parquet(path).write_ndjson())
        elif path.name.endswith(".gz"):
            parts.append(gzip.decompress(path.read_bytes()).decode())
        elif path.suffix in {".json", ".jsonl", ".txt"}:
            parts.append(path.read_text())
        else:  # binary (the GNN encoder): its printable runs, as `strings` shows them
            runs = re.findall(rb"[\x20-\x7e]{6,}", path.read_bytes())
            parts.extend(run.decode("ascii") for run in runs)
    return "\n".join(parts)


def test_run_publishes_a_complete_snapshot(world, tmp_path, secret):
    assert main(["run", str(world / "events.jsonl.gz"), "--out", str(tmp_path)]) == 0
    snap = latest_snapshot(tmp_path)
    manifest = json.loads((snap / "manifest.json").read_text())
    assert manifest["events"] > 0 and manifest["duplicates"] > 0
    assert set(manifest["timings"]) >= {
        "ingest",
        "graph",
        "coordination",
        "communities",
        "ranking",
        "publish",
    }
    clusters = pl.read_parquet(snap / "clusters.parquet")
    assert clusters["rank"].to_list() == list(range(1, clusters.height + 1))
    assert clusters["score"].is_sorted(descending=True)
    actors = pl.read_parquet(snap / "actors.parquet")
    assert actors["risk_score"].is_between(0, 1).all()
    members = pl.read_parquet(snap / "members.parquet")
    assert set(members["cluster_id"]) == set(clusters["cluster_id"])


def test_no_personal_data_in_any_output(world, tmp_path, secret):
    assert main(["run", str(world), "--out", str(tmp_path), "--embeddings"]) == 0
    text = _snapshot_text(latest_snapshot(tmp_path))
    for field, values in _raw_identifiers(world).items():
        # Aho-Corasick over all values at once (a scan per value takes minutes)
        leaked = pl.Series([text]).str.extract_many(sorted(values)).item().to_list()
        assert not leaked, f"raw {field} in snapshot: {leaked[:3]}"
    assert not re.search(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", text), "an IPv4 leaked"
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text), "an email leaked"


def test_same_seed_same_clusters(world, tmp_path, secret):
    for out in ("a", "b"):
        assert main(["run", str(world), "--out", str(tmp_path / out), "--seed", "3"]) == 0
    tables = []
    for out in ("a", "b"):
        snap = latest_snapshot(tmp_path / out)
        tables.append(
            {
                name: pl.read_parquet(snap / f"{name}.parquet")
                for name in ("actors", "clusters", "members", "edges")
            }
        )
    for name in tables[0]:
        assert tables[0][name].equals(tables[1][name]), name


def test_ground_truth_rings_are_recovered(world, tmp_path, secret, capsys):
    assert main(["run", str(world), "--out", str(tmp_path)]) == 0
    report_path = tmp_path / "eval.json"
    assert (
        main(
            [
                "evaluate",
                "--snapshot",
                str(tmp_path),
                "--truth",
                str(world / "truth.json"),
                "--json",
                str(report_path),
            ]
        )
        == 0
    )
    report = json.loads(report_path.read_text())
    assert report["weighted_jaccard"] >= 0.8
    assert report["auroc"] >= 0.95
    assert report["precision_at_k"] >= 0.8


def test_reject_rate_limit_fails_and_keeps_previous_snapshot(world, tmp_path, secret, capsys):
    assert main(["run", str(world), "--out", str(tmp_path)]) == 0
    first = latest_snapshot(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"ts": "yesterday", "actor_id": "a", "event_type": "login"}\n' * 10
        + '{"ts": 1790000000, "actor_id": "a", "event_type": "login"}\n'
    )
    assert main(["run", str(bad), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "reject" in err and "Traceback" not in err
    assert latest_snapshot(tmp_path) == first
    assert list_snapshots(tmp_path) == [first]
    failed = list(tmp_path.glob("rejects-failed-*.jsonl.gz"))
    assert len(failed) == 1
    lines = gzip.decompress(failed[0].read_bytes()).decode().splitlines()
    assert len(lines) == 10


@pytest.mark.slow
def test_killed_run_leaves_previous_snapshot(world, tmp_path):
    env = os.environ | {"RINGSCOPE_SECRET_KEY": SECRET}
    cmd = [sys.executable, "-m", "ringscope.cli", "run", str(world), "--out", str(tmp_path)]
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    first = latest_snapshot(tmp_path)
    for delay in (0.5, 1.5, 3.0):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        snap = latest_snapshot(tmp_path)
        assert snap is not None
        assert (snap / "members.parquet").exists() and (snap / "manifest.json").exists()
        assert snap == first or snap.name > first.name


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "does/not/exist.jsonl", "--out", "x"], "does not exist"),
        (["run", "README.md", "--out", "x"], "extension"),
        (["run", "tests", "--out", "x", "--method", "louvian"], "unknown community method"),
        (["evaluate", "--snapshot", "nowhere", "--truth", "t.json"], "not found"),
        (["run", "tests", "--out", "x", "--spark-conf", "spark.executor.memory"], "KEY=VALUE"),
        (["run", "tests", "--out", "x", "--spark-conf", "=2g"], "KEY=VALUE"),
        (["generate", "--out", "x", "--set", "mobile_hosts"], "KEY=VALUE"),
        (["generate", "--out", "x", "--set", "mobile_hosts=0"], "mobile_hosts must be"),
        (["generate", "--out", "x", "--set", "nat_sise=5"], "unknown world setting"),
        (["generate", "--out", "x", "--legit", "300", "--set", "nat_size=500,600"], "n_legit"),
    ],
)
def test_bad_arguments_are_one_clear_line(argv, message, capsys, secret):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_spark_conf_options_win_over_the_config_file(tmp_path):
    from ringscope.cli import build_parser
    from ringscope.cli.pipeline_commands import _run_config

    config = tmp_path / "c.toml"
    config.write_text('[spark]\nconf = { "spark.executor.memory" = "1g", "spark.a" = "x" }\n')
    argv = ["run", "in", "--out", "o", "--config", str(config), "--spark-conf"]
    args = build_parser().parse_args([*argv, "spark.executor.memory=2g", "--spark-conf", "b=c=d"])
    assert _run_config(args).spark.conf == {
        "spark.executor.memory": "2g",
        "spark.a": "x",
        "b": "c=d",
    }


def test_missing_secret_is_a_clear_error(world, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("RINGSCOPE_SECRET_KEY", raising=False)
    assert main(["run", str(world), "--out", str(tmp_path)]) == 2
    assert "RINGSCOPE_SECRET_KEY" in capsys.readouterr().err


def test_demo_prints_ranked_rings_and_their_evaluation(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RINGSCOPE_SECRET_KEY", raising=False)
    assert main(["demo", "--out", str(tmp_path), "--legit", "800", "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert "Top 5 coordinated clusters" in out
    assert "size-weighted best-cluster Jaccard" in out
    assert latest_snapshot(tmp_path / "snapshots") is not None
    manifest = json.loads((latest_snapshot(tmp_path / "snapshots") / "manifest.json").read_text())
    assert manifest["insecure_demo_key"] is True


def _after_cli_import(variable: str, given: str | None, code: str) -> str:
    """What ``code`` prints in a fresh Python that imported ``ringscope.cli`` first, with
    the environment ``variable`` unset (``given`` None) or set to ``given``."""
    env = {k: v for k, v in os.environ.items() if k != variable}
    if given is not None:
        env[variable] = given
    out = subprocess.run(
        [sys.executable, "-c", f"import ringscope.cli\n{code}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.parametrize(("given", "expected"), [(None, "False"), ("1", "True")])
def test_cli_turns_off_numpy_huge_pages_unless_the_operator_chose(given, expected):
    probe = "import numpy; print(numpy._core.multiarray._get_madvise_hugepage())"
    assert _after_cli_import("NUMPY_MADVISE_HUGEPAGE", given, probe) == expected


@pytest.mark.parametrize(
    ("given", "last"),
    [(None, "dirty_decay_ms:100,muzzy_decay_ms:0"), ("dirty_decay_ms:7", "dirty_decay_ms:7")],
)
def test_cli_shortens_polars_allocator_decay_unless_the_operator_chose(given, last):
    probe = "import os, polars; print(os.environ['_RJEM_MALLOC_CONF'])"
    assert _after_cli_import("_RJEM_MALLOC_CONF", given, probe).endswith("," + last)
