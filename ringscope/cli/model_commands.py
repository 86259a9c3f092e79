"""Model commands: ``benchmark-nodes`` (the GADBench protocol on a labelled graph)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from ringscope.cli.console import err
from ringscope.errors import RingscopeError

if TYPE_CHECKING:
    from ringscope.ranking.node_benchmark import BenchmarkResult

__all__ = ["register"]

_TABLE_WIDTH = 110


def _add_benchmark_nodes(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "benchmark-nodes",
        help="GADBench protocol on a labelled graph .npz: ringscope's model vs baselines",
    )
    p.add_argument("graph", type=Path, help=".npz with x [n, d], edge_index [2, E], y [n]")
    p.add_argument("--seeds", type=int, default=10, help="number of seeds 3407 + 10 i")
    p.add_argument("--out", type=Path, help="write per-seed and mean metrics as JSON here")
    p.add_argument("--models", nargs="+", help="subset of models to run (default: all of them)")
    return p


def results_table(result: BenchmarkResult) -> Table:
    """Mean ± std of each test metric per model, best mean AUROC first."""
    table = Table(
        title=(
            f"{result.dataset}: {result.n_nodes:,} nodes, {result.n_edges:,} edges, "
            f"{result.n_positive} positives, {len(result.seeds)} seed(s)"
        )
    )
    for col in ("model", "AUROC", "AUPRC", "Recall@K", "seconds"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for name, row in result.summary().items():
        table.add_row(
            name,
            *(
                f"{row[f'{m}_mean']:.4f} ± {row[f'{m}_std']:.4f}"
                for m in ("auroc", "auprc", "recall_at_k")
            ),
            f"{result.seconds[name]:.1f}",
        )
    return table


def cmd_benchmark_nodes(args: argparse.Namespace) -> int:
    from ringscope.ranking.node_benchmark import (
        MODELS,
        gadbench_seeds,
        load_labelled_graph,
        run_node_benchmark,
    )

    if args.seeds < 1:
        raise RingscopeError("--seeds must be at least 1")
    models = tuple(args.models or MODELS)
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        raise RingscopeError(f"unknown model(s) {unknown}; valid: {', '.join(MODELS)}")
    graph = load_labelled_graph(args.graph)

    def progress(seed: int, model: str, metrics: dict[str, float]) -> None:
        err.print(f"  seed {seed} {model:<20} AUROC {metrics['auroc']:.4f}", highlight=False)

    result = run_node_benchmark(
        graph,
        seeds=gadbench_seeds(args.seeds),
        dataset=args.graph.stem,
        models=models,
        on_result=progress,
    )
    console = Console()
    if console.width < _TABLE_WIDTH:  # model names and "mean ± std" cells must not wrap
        console = Console(width=_TABLE_WIDTH)
    console.print(results_table(result))
    if args.out:
        result.write_json(args.out)
        console.print(f"wrote {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the model commands to the ``ringscope`` parser."""
    _add_benchmark_nodes(sub).set_defaults(func=cmd_benchmark_nodes)
