"""The GADBench-protocol node benchmark: loading, splits, metrics, the CLI on Reddit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ringscope.cli import main
from ringscope.ranking.node_benchmark import (
    MODELS,
    GraphFileError,
    gadbench_seeds,
    gadbench_split,
    load_labelled_graph,
    run_node_benchmark,
)


def _graph(tmp_path, name="g.npz", **arrays):
    rng = np.random.default_rng(0)
    n = 200
    data = {
        "x": rng.normal(size=(n, 4)).astype(np.float32),
        "edge_index": rng.integers(0, n, size=(2, 800)),
        "y": (rng.random(n) < 0.2).astype(np.int8),
    }
    data.update(arrays)
    data = {k: v for k, v in data.items() if v is not None}
    path = tmp_path / name
    np.savez(path, **data)
    return path


def test_protocol_seeds_and_split_are_stratified_and_disjoint():
    assert gadbench_seeds(3) == [3407, 3417, 3427]
    y = np.r_[np.ones(100, dtype=int), np.zeros(900, dtype=int)]
    split = gadbench_split(y, 3407)
    parts = [split.train, split.val, split.test]
    assert [len(p) for p in parts] == [400, 200, 400]
    assert [int(y[p].sum()) for p in parts] == [40, 20, 40]
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(1000))
    again = gadbench_split(y, 3407)
    assert np.array_equal(again.test, split.test)
    assert not np.array_equal(gadbench_split(y, 3417).test, split.test)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"y": None}, "lacks array"),
        ({"x": np.zeros(5, dtype=np.float32)}, "x must be"),
        ({"y": np.zeros(7, dtype=np.int8)}, "y must have shape"),
        ({"edge_index": np.zeros((3, 4), dtype=np.int64)}, "edge_index must be"),
        ({"edge_index": np.array([[0, 1], [1, 999]])}, "outside"),
        ({"y": np.full(200, 2, dtype=np.int8)}, "only 0 and 1"),
    ],
)
def test_bad_graph_files_are_clear_errors(tmp_path, arrays, message):
    with pytest.raises(GraphFileError, match=message):
        load_labelled_graph(_graph(tmp_path, **arrays))


def test_cli_reports_bad_input_in_one_line(tmp_path, capsys):
    assert main(["benchmark-nodes", str(tmp_path / "missing.npz")]) == 2
    assert "graph file not found" in capsys.readouterr().err
    (tmp_path / "junk.npz").write_text("not an npz")
    assert main(["benchmark-nodes", str(tmp_path / "junk.npz")]) == 2
    assert "not a readable .npz" in capsys.readouterr().err
    good = _graph(tmp_path)
    assert main(["benchmark-nodes", str(good), "--models", "svm"]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_benchmark_on_a_small_graph_scores_every_model_per_seed(tmp_path):
    graph = load_labelled_graph(_graph(tmp_path))
    result = run_node_benchmark(
        graph, seeds=[1, 2], models=("ringscope", "logistic_regression", "gbdt_raw")
    )
    assert set(result.per_seed) == {"ringscope", "logistic_regression", "gbdt_raw"}
    for runs in result.per_seed.values():
        assert len(runs) == 2
        for r in runs:
            assert 0.0 <= r["auroc"] <= 1.0 and 0.0 <= r["recall_at_k"] <= 1.0
    summary = result.summary()
    means = [row["auroc_mean"] for row in summary.values()]
    assert means == sorted(means, reverse=True)
    assert result.best_model() == next(iter(summary))


@pytest.mark.slow
def test_reddit_benchmark_writes_table_and_json(shared_data, tmp_path, capsys):
    out = tmp_path / "reddit.json"
    code = main(
        [
            "benchmark-nodes",
            str(shared_data / "reddit_gadbench.npz"),
            "--seeds",
            "1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    table = capsys.readouterr().out
    for name in MODELS:
        assert name in table
    result = json.loads(out.read_text())
    assert result["seeds"] == [3407]
    assert result["n_nodes"] == 10984 and result["n_positive"] == 366
    for name, row in result["summary"].items():
        assert 0.5 < row["auroc_mean"] < 0.9, name
        assert 0.0 < row["auprc_mean"] < 0.5, name
    # GADBench reports AUROC around 0.6-0.7 for every method on Reddit.
    assert result["summary"]["ringscope"]["auroc_mean"] > 0.65
