"""Node-level anomaly benchmark on a labelled graph, following the GADBench protocol.

GADBench (Tang et al., NeurIPS 2023) evaluates supervised graph anomaly detectors on a
stratified 40/20/40 train/validation/test split, repeated for seeds ``3407 + 10 * i``,
with AUROC, AUPRC and Recall@K (K = number of positives in the test split). This module
runs that protocol on any ``.npz`` with ``x`` ``[n, d]``, ``edge_index`` ``[2, E]`` and
``y`` ``[n]``, for ringscope's :class:`~ringscope.ranking.risk_model.GraphRiskModel` and,
in the same process and on the same splits, the usual baselines: logistic regression
and gradient-boosted trees on raw features, the same trees on neighbour aggregates, and
two-layer GCN and GraphSAGE trained full-batch (epoch chosen on validation AUROC).
Every model sees only training labels to learn and validation labels to choose.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from ringscope.errors import RingscopeError
from ringscope.ranking.neighbour_features import neighbour_aggregates, symmetric_adjacency
from ringscope.ranking.risk_model import GraphRiskModel

__all__ = [
    "MODELS",
    "BenchmarkResult",
    "GraphFileError",
    "LabelledGraph",
    "gadbench_seeds",
    "gadbench_split",
    "load_labelled_graph",
    "run_node_benchmark",
]

RINGSCOPE = "ringscope"
_GNN_EPOCHS = 100
_GNN_EVAL_EVERY = 5


class GraphFileError(RingscopeError):
    """A labelled-graph file is missing, unreadable or has the wrong arrays."""


@dataclass(frozen=True)
class LabelledGraph:
    """Node features, an edge list and 0/1 node labels, as checked on load."""

    x: np.ndarray
    edge_index: np.ndarray
    y: np.ndarray

    @property
    def n_nodes(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class Split:
    """One seed's stratified train / validation / test node indices."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def load_labelled_graph(path: Path) -> LabelledGraph:
    """Read and check a graph ``.npz``; every problem is one :class:`GraphFileError`."""
    path = Path(path)
    if not path.is_file():
        raise GraphFileError(f"graph file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise GraphFileError(f"{path} is not a readable .npz file: {exc}") from None
    missing = [k for k in ("x", "edge_index", "y") if k not in arrays]
    if missing:
        raise GraphFileError(
            f"{path} lacks array(s) {', '.join(missing)}; need x [n, d], edge_index [2, E], y [n]"
        )
    x, edges, y = arrays["x"], arrays["edge_index"], arrays["y"]
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.number):
        raise GraphFileError(f"x must be a numeric [n, d] matrix, got shape {x.shape}")
    n = x.shape[0]
    if y.shape != (n,):
        raise GraphFileError(f"y must have shape ({n},) to match x, got {y.shape}")
    if edges.ndim != 2 or edges.shape[0] != 2 or not np.issubdtype(edges.dtype, np.integer):
        raise GraphFileError(f"edge_index must be an integer [2, E] array, got {edges.shape}")
    if edges.size and (edges.min() < 0 or edges.max() >= n):
        raise GraphFileError(f"edge_index refers to nodes outside 0..{n - 1}")
    if not np.isfinite(x).all():
        raise GraphFileError("x holds NaN or infinite values")
    if not np.isin(y, (0, 1)).all():
        raise GraphFileError("y must hold only 0 and 1")
    if int(y.sum()) < 10 or int((y == 0).sum()) < 10:
        raise GraphFileError("y needs at least 10 positive and 10 negative nodes for a split")
    return LabelledGraph(x=x.astype(np.float32), edge_index=edges.astype(np.int64), y=y.astype(int))


def gadbench_seeds(n: int) -> list[int]:
    """The protocol's seeds: ``3407 + 10 * i`` for ``i < n``."""
    return [3407 + 10 * i for i in range(n)]


def gadbench_split(y: np.ndarray, seed: int) -> Split:
    """Stratified 40% train, 20% validation, 40% test."""
    idx = np.arange(len(y))
    train, rest = train_test_split(idx, train_size=0.4, stratify=y, random_state=seed)
    val, test = train_test_split(rest, test_size=2 / 3, stratify=y[rest], random_state=seed)
    return Split(np.sort(train), np.sort(val), np.sort(test))


def _metrics(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    k = int(y.sum())
    top = np.argsort(-score, kind="stable")[:k]
    return {
        "auroc": float(roc_auc_score(y, score)),
        "auprc": float(average_precision_score(y, score)),
        "recall_at_k": float(y[top].sum() / k),
    }


@dataclass(frozen=True)
class _Inputs:
    """What every model may use: the graph, its adjacency and cached aggregates."""

    graph: LabelledGraph
    adjacency: sp.csr_matrix
    aggregates: np.ndarray


def _boosted_trees(x: np.ndarray, y: np.ndarray, split: Split, seed: int) -> np.ndarray:
    """LightGBM with library defaults, early-stopped on validation AUROC."""
    import lightgbm as lgb

    model = lgb.LGBMClassifier(n_estimators=400, random_state=seed, n_jobs=1, verbose=-1)
    model.fit(
        x[split.train],
        y[split.train],
        eval_X=(x[split.val],),
        eval_y=(y[split.val],),
        eval_metric="auc",
        callbacks=[lgb.early_stopping(40, first_metric_only=True, verbose=False)],
    )
    return model.predict_proba(x)[:, 1]


def _logistic(inp: _Inputs, split: Split, seed: int) -> np.ndarray:
    x = StandardScaler().fit(inp.graph.x[split.train]).transform(inp.graph.x)
    model = LogisticRegression(max_iter=2000, random_state=seed)
    return model.fit(x[split.train], inp.graph.y[split.train]).predict_proba(x)[:, 1]


def _gbdt_raw(inp: _Inputs, split: Split, seed: int) -> np.ndarray:
    return _boosted_trees(inp.graph.x, inp.graph.y, split, seed)


def _gbdt_graph(inp: _Inputs, split: Split, seed: int) -> np.ndarray:
    return _boosted_trees(inp.aggregates, inp.graph.y, split, seed)


def _gnn(conv: str) -> Callable[[_Inputs, Split, int], np.ndarray]:
    """A two-layer GCN or GraphSAGE (Kipf & Welling 2017; Hamilton et al. 2017), full
    batch, class-weighted, hidden size 64, Adam, the epoch with the best validation AUROC."""

    def run(inp: _Inputs, split: Split, seed: int) -> np.ndarray:
        import torch

        threads = torch.get_num_threads()
        # One thread: on graphs this size, sparse products lose more to thread sync
        # than they gain (several times slower on a busy 2-core machine).
        torch.set_num_threads(1)
        try:
            return train(inp, split, seed)
        finally:
            torch.set_num_threads(threads)

    def train(inp: _Inputs, split: Split, seed: int) -> np.ndarray:
        import torch
        from torch_geometric.nn import GCNConv, SAGEConv
        from torch_geometric.utils import to_torch_csr_tensor

        torch.manual_seed(seed)
        layer = {"gcn": lambda i, o: GCNConv(i, o, normalize=False), "sage": SAGEConv}[conv]
        x_np = StandardScaler().fit(inp.graph.x[split.train]).transform(inp.graph.x)
        x = torch.tensor(x_np, dtype=torch.float32)
        adjacency = inp.adjacency
        if conv == "gcn":  # D^-1/2 (A + I) D^-1/2, computed once instead of every step
            adjacency = adjacency + sp.eye(inp.graph.n_nodes)
            inv_sqrt = sp.diags(1.0 / np.sqrt(np.asarray(adjacency.sum(axis=1)).ravel()))
            adjacency = inv_sqrt @ adjacency @ inv_sqrt
        coo = sp.coo_matrix(adjacency)
        # A sparse adjacency (not an edge list) runs message passing as one sparse matmul.
        with warnings.catch_warnings():  # torch flags its CSR support as beta
            warnings.simplefilter("ignore", UserWarning)
            edges = to_torch_csr_tensor(
                torch.tensor(np.vstack([coo.row, coo.col]), dtype=torch.long),
                torch.tensor(coo.data, dtype=torch.float32),
                size=(inp.graph.n_nodes, inp.graph.n_nodes),
            )
        y = torch.tensor(inp.graph.y, dtype=torch.long)
        train = torch.tensor(split.train)
        n_pos = int(inp.graph.y[split.train].sum())
        weight = torch.tensor([1.0, (len(split.train) - n_pos) / max(n_pos, 1)])

        class Net(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.conv1 = layer(x.shape[1], 64)
                self.conv2 = layer(64, 2)

            def forward(self) -> torch.Tensor:
                h = torch.relu(self.conv1(x, edges))
                h = torch.nn.functional.dropout(h, p=0.3, training=self.training)
                return self.conv2(h, edges)

        net = Net()
        opt = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=5e-4)
        best, best_score = -1.0, np.zeros(inp.graph.n_nodes)
        for epoch in range(1, _GNN_EPOCHS + 1):
            net.train()
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net()[train], y[train], weight=weight)
            loss.backward()
            opt.step()
            if epoch % _GNN_EVAL_EVERY:
                continue
            net.eval()
            with torch.no_grad():
                score = torch.softmax(net(), dim=1)[:, 1].numpy()
            val_auroc = roc_auc_score(inp.graph.y[split.val], score[split.val])
            if val_auroc > best:
                best, best_score = val_auroc, score
        return best_score

    return run


def _ringscope(inp: _Inputs, split: Split, seed: int) -> np.ndarray:
    model = GraphRiskModel(seed=seed).fit(
        inp.graph.x, inp.adjacency, inp.graph.y, train_idx=split.train, val_idx=split.val
    )
    return model.predict_proba(inp.graph.x, inp.adjacency)[:, 1]


#: Model name -> scorer(inputs, split, seed) returning a score for every node.
MODELS: dict[str, Callable[[_Inputs, Split, int], np.ndarray]] = {
    RINGSCOPE: _ringscope,
    "logistic_regression": _logistic,
    "gbdt_raw": _gbdt_raw,
    "gbdt_neighbour_agg": _gbdt_graph,
    "gcn": _gnn("gcn"),
    "graphsage": _gnn("sage"),
}


@dataclass
class BenchmarkResult:
    """Per-seed test metrics of every model, their means and standard deviations."""

    dataset: str
    n_nodes: int
    n_edges: int
    n_positive: int
    seeds: list[int]
    per_seed: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[str, float]]:
        """Model -> ``<metric>_mean`` / ``<metric>_std`` over seeds, best AUROC first."""
        out = {}
        for name, runs in self.per_seed.items():
            row = {}
            for metric in ("auroc", "auprc", "recall_at_k"):
                values = np.array([r[metric] for r in runs])
                row[f"{metric}_mean"] = float(values.mean())
                row[f"{metric}_std"] = float(values.std())
            out[name] = row
        return dict(sorted(out.items(), key=lambda kv: -kv[1]["auroc_mean"]))

    def best_model(self) -> str:
        """The model with the highest mean test AUROC."""
        return next(iter(self.summary()))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"summary": self.summary(), "protocol": _PROTOCOL}

    def write_json(self, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")


_PROTOCOL = (
    "GADBench: stratified 40/20/40 train/validation/test, seeds 3407 + 10 i, "
    "test AUROC / AUPRC / Recall@K (K = test positives)"
)


def run_node_benchmark(
    graph: LabelledGraph,
    *,
    seeds: list[int],
    dataset: str = "graph",
    models: tuple[str, ...] = tuple(MODELS),
    on_result: Callable[[int, str, dict[str, float]], None] | None = None,
) -> BenchmarkResult:
    """Run every model on every seed's split and collect test metrics.

    Args:
        graph: the labelled graph.
        seeds: split and model seeds (the protocol uses :func:`gadbench_seeds`).
        dataset: a name for the report.
        models: keys of :data:`MODELS` to run.
        on_result: called with (seed, model, metrics) after each run, for progress.
    """
    unknown = set(models) - set(MODELS)
    if unknown:
        raise ValueError(f"unknown models {sorted(unknown)}; valid: {', '.join(MODELS)}")
    adjacency = symmetric_adjacency(graph.edge_index, graph.n_nodes)
    inputs = _Inputs(graph, adjacency, neighbour_aggregates(graph.x, adjacency))
    result = BenchmarkResult(
        dataset=dataset,
        n_nodes=graph.n_nodes,
        n_edges=int(adjacency.nnz // 2),
        n_positive=int(graph.y.sum()),
        seeds=list(seeds),
    )
    for seed in seeds:
        split = gadbench_split(graph.y, seed)
        for name in models:
            t0 = time.perf_counter()
            score = MODELS[name](inputs, split, seed)
            result.seconds[name] = result.seconds.get(name, 0.0) + time.perf_counter() - t0
            metrics = _metrics(graph.y[split.test], score[split.test])
            result.per_seed.setdefault(name, []).append(metrics)
            if on_result:
                on_result(seed, name, metrics)
    return result
