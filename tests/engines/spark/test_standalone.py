"""``ringscope run --engine spark`` on a real standalone cluster: a master and two workers."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from ringscope.engines.spark.standalone import StandaloneCluster
from ringscope.snapshot import latest_snapshot, read_table

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_run_on_two_workers_matches_the_local_engine(engine_runs, tmp_path):
    with StandaloneCluster(tmp_path / "cluster", workers=2, worker_memory="1g") as cluster:
        assert cluster.status()["aliveworkers"] == 2
        out = tmp_path / "snapshots"
        run = subprocess.run(
            [
                sys.executable, "-m", "ringscope.cli", "run", *map(str, engine_runs.events),
                "--out", str(out), "--engine", "spark", "--insecure-demo-key",
                "--spark-master", cluster.master_url,
                "--spark-conf", "spark.driver.memory=1g",
                "--spark-conf", "spark.executor.memory=768m",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        apps = cluster.status()["completedapps"]
    # the run was one application on the cluster, with an executor on each worker and the
    # executor memory asked for with --spark-conf
    assert [(a["name"], a["cores"], a["memoryperexecutor"]) for a in apps] == [
        ("ringscope", 2, 768)
    ]
    local = read_table(engine_runs.local, "edges")
    on_cluster = read_table(latest_snapshot(out), "edges")
    assert local.select("src", "dst", "layers").equals(on_cluster.select("src", "dst", "layers"))
    assert (local["weight"] - on_cluster["weight"]).abs().max() <= 1e-12
    members = [
        read_table(s, "members").select("actor_id", "cluster_id")
        for s in (engine_runs.local, latest_snapshot(out))
    ]
    both = members[0].join(members[1], on="actor_id", how="full", coalesce=True, suffix="_c")
    labels = both.select(
        pl.col("cluster_id").fill_null(pl.col("actor_id")),
        pl.col("cluster_id_c").fill_null(pl.col("actor_id")),
    )
    assert adjusted_rand_score(labels["cluster_id"], labels["cluster_id_c"]) >= 0.99


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_cluster_command_takes_its_jvms_down_when_killed(tmp_path):
    url_file = tmp_path / "master.url"
    command = [sys.executable, "-m", "ringscope.cli", "spark-cluster", "--root", str(tmp_path)]
    command += ["--workers", "1", "--worker-memory", "512m", "--url-file", str(url_file)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while not url_file.exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no master URL after 180 s"
        time.sleep(0.5)
    assert url_file.read_text().startswith("spark://")
    jvms = _children(proc.pid)
    assert len(jvms) == 2  # the master and the worker
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in jvms) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in jvms)
